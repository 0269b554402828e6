// Names of the files in an engine directory.
//
//   MANIFEST            the live tables and the oldest live log (replaced atomically)
//   MANIFEST.tmp        a manifest being written
//   000007.log          a commit log
//   000012.sst          an SSTable
//   000012.sst.tmp      an SSTable being written

export const MANIFEST = "MANIFEST";
export const MANIFEST_TMP = "MANIFEST.tmp";

export type FileKind = "log" | "table" | "table-tmp" | "manifest" | "manifest-tmp";

export function logName(n: number): string {
  return `${String(n).padStart(6, "0")}.log`;
}

export function tableName(n: number): string {
  return `${String(n).padStart(6, "0")}.sst`;
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** Classifies a directory entry; undefined for names the engine does not own. */
export function parseName(name: string): { kind: FileKind; number: number } | undefined {
  if (name === MANIFEST) return { kind: "manifest", number: 0 };
  if (name === MANIFEST_TMP) return { kind: "manifest-tmp", number: 0 };
  const m = /^(\d+)\.(log|sst|sst\.tmp)$/.exec(name);
  if (m === null) return undefined;
  const kind = m[2] === "log" ? "log" : m[2] === "sst" ? "table" : "table-tmp";
  return { kind, number: Number(m[1]) };
}
