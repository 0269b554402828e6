// The error every history importer throws for input it cannot read: where, and what is wrong.

export class FormatError extends Error {
  readonly code: string;
  /** 1-based line of the input, when known. */
  readonly line: number | null;
  constructor(code: string, message: string, line: number | null = null) {
    super(line === null ? message : `line ${line}: ${message}`);
    this.name = "FormatError";
    this.code = code;
    this.line = line;
  }
}
