// A small reader and writer for EDN (github.com/edn-format/edn), enough for Jepsen and Knossos
// histories: nil, booleans, numbers, strings, characters, keywords, symbols, lists, vectors, maps,
// sets, tagged literals, #_ discards, ; comments and commas as whitespace.

export class Keyword {
  private static readonly interned = new Map<string, Keyword>();
  /** The full name without the colon, e.g. "invoke" or "jepsen/nemesis". */
  readonly name: string;
  private constructor(name: string) {
    this.name = name;
  }
  static for(name: string): Keyword {
    let k = Keyword.interned.get(name);
    if (!k) {
      k = new Keyword(name);
      Keyword.interned.set(name, k);
    }
    return k;
  }
  toString(): string {
    return `:${this.name}`;
  }
}

export class EdnSymbol {
  constructor(readonly name: string) {}
}
export class EdnList {
  constructor(readonly items: EdnValue[]) {}
}
export class EdnSet {
  constructor(readonly items: EdnValue[]) {}
}
export class EdnTagged {
  constructor(
    readonly tag: string,
    readonly value: EdnValue,
  ) {}
}
export class EdnChar {
  constructor(readonly char: string) {}
}

/** Vectors are arrays; maps are Maps whose keyword keys are interned (so `get(Keyword.for(..))`
 * works). */
export type EdnValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Keyword
  | EdnSymbol
  | EdnChar
  | EdnValue[]
  | EdnList
  | EdnSet
  | EdnMap
  | EdnTagged;
export type EdnMap = Map<EdnValue, EdnValue>;

export class EdnError extends Error {
  readonly code = "bad-edn";
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`EDN line ${line} column ${column}: ${message}`);
    this.name = "EdnError";
  }
}

const NAMED_CHARS: Record<string, string> = {
  newline: "\n",
  space: " ",
  tab: "\t",
  return: "\r",
  backspace: "\b",
  formfeed: "\f",
};

function isWhitespace(c: number): boolean {
  return c === 32 || c === 44 || c === 10 || c === 13 || c === 9 || c === 12 || c === 11;
}
/** Characters that end a token (symbol, number, keyword). */
function isTerminator(c: number): boolean {
  return (
    isWhitespace(c) ||
    c === 40 || // (
    c === 41 || // )
    c === 91 || // [
    c === 93 || // ]
    c === 123 || // {
    c === 125 || // }
    c === 34 || // "
    c === 59 // ;
  );
}

const DISCARD = Symbol("discard");
const CLOSE = Symbol("close");

/** Reads EDN forms one at a time from a string. */
export class EdnReader {
  private pos = 0;
  constructor(private readonly src: string) {}

  /** Reads every top-level form. */
  static readAll(src: string): EdnValue[] {
    const r = new EdnReader(src);
    const out: EdnValue[] = [];
    for (;;) {
      const v = r.next();
      if (v === undefined) return out;
      out.push(v.value);
    }
  }

  /** The next top-level form, or undefined at the end of input. */
  next(): { value: EdnValue } | undefined {
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.src.length) return undefined;
      const v = this.form();
      if (v === CLOSE) this.fail(`unexpected "${this.src[this.pos - 1]}"`, this.pos - 1);
      if (v !== DISCARD) return { value: v as EdnValue };
    }
  }

  private fail(message: string, at = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < this.src.length; i++) {
      if (this.src.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    throw new EdnError(message, line, at - lineStart + 1);
  }

  private skipSpace(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (isWhitespace(c)) this.pos++;
      else if (c === 59) {
        while (this.pos < s.length && s.charCodeAt(this.pos) !== 10) this.pos++;
      } else return;
    }
  }

  /** A form, DISCARD for `#_ x`, or CLOSE when the next char closes a collection. */
  private form(): EdnValue | typeof DISCARD | typeof CLOSE {
    const s = this.src;
    const start = this.pos;
    const c = s.charCodeAt(this.pos);
    switch (c) {
      case 40: // (
        this.pos++;
        return new EdnList(this.items(")", start));
      case 91: // [
        this.pos++;
        return this.items("]", start);
      case 123: // {
        this.pos++;
        return this.map(start);
      case 41:
      case 93:
      case 125:
        this.pos++;
        return CLOSE;
      case 34: // "
        return this.string();
      case 58: // :
        return this.keyword();
      case 92: // backslash
        return this.char();
      case 35: // #
        return this.dispatch();
    }
    const d = s.charCodeAt(this.pos + 1);
    if ((c >= 48 && c <= 57) || ((c === 43 || c === 45) && d >= 48 && d <= 57)) {
      return this.number();
    }
    const tok = this.token();
    if (tok === "nil") return null;
    if (tok === "true") return true;
    if (tok === "false") return false;
    if (tok.length === 0) this.fail(`unexpected character "${s[this.pos]}"`);
    return new EdnSymbol(tok);
  }

  private token(): string {
    const s = this.src;
    const start = this.pos;
    while (this.pos < s.length && !isTerminator(s.charCodeAt(this.pos))) this.pos++;
    return s.slice(start, this.pos);
  }

  private items(close: string, start: number): EdnValue[] {
    const out: EdnValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.src.length) this.fail(`"${this.src[start]}" is never closed`, start);
      const v = this.form();
      if (v === CLOSE) {
        if (this.src[this.pos - 1] !== close) {
          this.fail(`expected "${close}" to close "${this.src[start]}"`, this.pos - 1);
        }
        return out;
      }
      if (v !== DISCARD) out.push(v);
    }
  }

  private map(start: number): EdnMap {
    const items = this.items("}", start);
    if (items.length % 2 !== 0) this.fail("a map needs an even number of forms", start);
    const m: EdnMap = new Map();
    for (let i = 0; i < items.length; i += 2) m.set(items[i]!, items[i + 1]!);
    return m;
  }

  private string(): string {
    const s = this.src;
    const start = this.pos;
    this.pos++;
    let out = "";
    let run = this.pos;
    for (;;) {
      if (this.pos >= s.length) this.fail("string is never closed", start);
      const c = s.charCodeAt(this.pos);
      if (c === 34) {
        out += s.slice(run, this.pos);
        this.pos++;
        return out;
      }
      if (c === 92) {
        out += s.slice(run, this.pos);
        const e = s[this.pos + 1];
        this.pos += 2;
        switch (e) {
          case "n":
            out += "\n";
            break;
          case "t":
            out += "\t";
            break;
          case "r":
            out += "\r";
            break;
          case "b":
            out += "\b";
            break;
          case "f":
            out += "\f";
            break;
          case '"':
          case "\\":
          case "'":
            out += e;
            break;
          case "u": {
            const hex = s.slice(this.pos, this.pos + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("bad \\u escape", this.pos - 2);
            out += String.fromCharCode(Number.parseInt(hex, 16));
            this.pos += 4;
            break;
          }
          default:
            this.fail(`unknown escape "\\${e ?? ""}"`, this.pos - 2);
        }
        run = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  private keyword(): Keyword {
    const start = this.pos;
    this.pos++;
    if (this.src[this.pos] === ":") this.pos++; // ::auto-resolved, read as a plain keyword
    const name = this.token();
    if (name.length === 0) this.fail("empty keyword", start);
    return Keyword.for(name);
  }

  private char(): EdnChar {
    const start = this.pos;
    this.pos++;
    if (this.pos >= this.src.length) this.fail("character literal at end of input", start);
    // The first character is taken even when it is a terminator (\( \space ...).
    const first = this.src[this.pos]!;
    this.pos++;
    const rest = this.token();
    const tok = first + rest;
    if (tok.length === 1) return new EdnChar(tok);
    const named = NAMED_CHARS[tok];
    if (named !== undefined) return new EdnChar(named);
    if (/^u[0-9a-fA-F]{4}$/.test(tok))
      return new EdnChar(String.fromCharCode(Number.parseInt(tok.slice(1), 16)));
    return this.fail(`unknown character literal "\\${tok}"`, start);
  }

  private dispatch(): EdnValue | typeof DISCARD {
    const start = this.pos;
    const next = this.src[this.pos + 1];
    if (next === "{") {
      this.pos += 2;
      return new EdnSet(this.items("}", start));
    }
    if (next === "_") {
      this.pos += 2;
      this.skipSpace();
      if (this.pos >= this.src.length) this.fail("#_ discards nothing", start);
      const v = this.form();
      if (v === CLOSE) this.fail("#_ discards nothing", start);
      return DISCARD;
    }
    if (next === "#") {
      this.pos += 2;
      const tok = this.token();
      if (tok === "Inf") return Number.POSITIVE_INFINITY;
      if (tok === "-Inf") return Number.NEGATIVE_INFINITY;
      if (tok === "NaN") return Number.NaN;
      return this.fail(`unknown symbolic value "##${tok}"`, start);
    }
    this.pos++;
    const tag = this.token();
    if (tag.length === 0) this.fail(`unsupported dispatch "#${next ?? ""}"`, start);
    this.skipSpace();
    if (this.pos >= this.src.length) this.fail(`tag #${tag} has no value`, start);
    let v = this.form();
    while (v === DISCARD) {
      this.skipSpace();
      v = this.form();
    }
    if (v === CLOSE) this.fail(`tag #${tag} has no value`, start);
    return new EdnTagged(tag, v as EdnValue);
  }

  private number(): number | bigint {
    const start = this.pos;
    const tok = this.token();
    let m = /^([+-]?\d+)N?$/.exec(tok);
    if (m) {
      const text = m[1]!;
      const n = Number(text);
      if (Number.isSafeInteger(n)) return n;
      // A number when it prints back as the same digits (what JSON would give), else a bigint.
      return String(n) === text.replace(/^\+/, "") ? n : BigInt(text);
    }
    m = /^([+-]?)(\d+)\/(\d+)$/.exec(tok);
    if (m) return Number(`${m[1]}${m[2]}`) / Number(m[3]);
    m = /^[+-]?(0[xX][0-9a-fA-F]+)$/.exec(tok);
    if (m) return (tok.startsWith("-") ? -1 : 1) * Number(m[1]);
    m = /^([+-]?\d+(\.\d*)?([eE][+-]?\d+)?)M?$/.exec(tok);
    if (m) return Number(m[1]);
    return this.fail(`bad number "${tok}"`, start);
  }
}

/** Converts EDN to JSON-like data: keywords and symbols become their names, lists and sets become
 * arrays, maps become objects (keys printed), tagged literals their value, big integers numbers
 * when safe, else decimal strings. */
export function ednToPlain(v: EdnValue): unknown {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") {
    const n = Number(v);
    return String(n) === v.toString() ? n : v.toString();
  }
  if (v instanceof Keyword) return v.name;
  if (v instanceof EdnSymbol) return v.name;
  if (v instanceof EdnChar) return v.char;
  if (Array.isArray(v)) return v.map(ednToPlain);
  if (v instanceof EdnList || v instanceof EdnSet) return v.items.map(ednToPlain);
  if (v instanceof EdnTagged) return ednToPlain(v.value);
  const o: Record<string, unknown> = {};
  // defineProperty, not assignment: a map key named "__proto__" is data, not the prototype.
  for (const [k, x] of v)
    Object.defineProperty(o, mapKeyName(k), {
      value: ednToPlain(x),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return o;
}

function mapKeyName(k: EdnValue): string {
  if (typeof k === "string") return k;
  if (k instanceof Keyword || k instanceof EdnSymbol) return k.name;
  if (typeof k === "number" || typeof k === "bigint" || typeof k === "boolean") return String(k);
  if (k === null) return "nil";
  return printEdn(k);
}

/** Prints an EDN value (what EdnReader reads back to an equal value). */
export function printEdn(v: EdnValue): string {
  if (v === null) return "nil";
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "##NaN";
    if (v === Number.POSITIVE_INFINITY) return "##Inf";
    if (v === Number.NEGATIVE_INFINITY) return "##-Inf";
    return String(v);
  }
  if (typeof v === "bigint") return `${v}N`;
  if (typeof v === "string") return printString(v);
  if (v instanceof Keyword) return `:${v.name}`;
  if (v instanceof EdnSymbol) return v.name;
  if (v instanceof EdnChar) {
    const named = Object.entries(NAMED_CHARS).find(([, c]) => c === v.char);
    return named ? `\\${named[0]}` : `\\${v.char}`;
  }
  if (Array.isArray(v)) return `[${v.map(printEdn).join(" ")}]`;
  if (v instanceof EdnList) return `(${v.items.map(printEdn).join(" ")})`;
  if (v instanceof EdnSet) return `#{${v.items.map(printEdn).join(" ")}}`;
  if (v instanceof EdnTagged) return `#${v.tag} ${printEdn(v.value)}`;
  return `{${[...v].map(([k, x]) => `${printEdn(k)} ${printEdn(x)}`).join(", ")}}`;
}

function printString(s: string): string {
  let out = '"';
  for (const ch of s) {
    switch (ch) {
      case '"':
        out += '\\"';
        break;
      case "\\":
        out += "\\\\";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\t":
        out += "\\t";
        break;
      case "\r":
        out += "\\r";
        break;
      default: {
        const c = ch.charCodeAt(0);
        out += c < 32 ? `\\u${c.toString(16).padStart(4, "0")}` : ch;
      }
    }
  }
  return `${out}"`;
}

const KEYWORD_NAME = /^[A-Za-z*!_?$%&=<>][A-Za-z0-9*+!_?$%&=<>.\-/]*$/;

/** Whether a string can be printed as a keyword and read back as the same name. */
export function isKeywordName(s: string): boolean {
  return KEYWORD_NAME.test(s) && !s.endsWith("/");
}

/** Converts JSON-like data to EDN: strings stay strings, objects become maps with keyword keys
 * (when the key is a valid keyword name), arrays become vectors. */
export function plainToEdn(v: unknown): EdnValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case "boolean":
    case "number":
    case "string":
    case "bigint":
      return v;
  }
  if (Array.isArray(v)) return v.map(plainToEdn);
  if (typeof v === "object") {
    const m: EdnMap = new Map();
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      m.set(isKeywordName(k) ? Keyword.for(k) : k, plainToEdn(x));
    }
    return m;
  }
  return String(v);
}
