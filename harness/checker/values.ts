// Value identity for JSON-like values: a canonical primitive key (equal values, equal keys) and a
// short description for explanations.

/** A primitive that identifies a JSON-like value: numbers, booleans and null stand for themselves;
 * strings and structures get distinct prefixes so that 1, "1" and [1] never collide. */
export function valueKey(v: unknown): string | number | boolean | null {
  if (v === undefined || v === null) return null;
  switch (typeof v) {
    case "number":
    case "boolean":
      return v;
    case "string":
      return `\u0000${v}`;
    case "bigint":
      return `\u0002${v.toString()}`;
    default:
      return `\u0001${canonicalJson(v)}`;
  }
}

export function valuesEqual(a: unknown, b: unknown): boolean {
  return valueKey(a) === valueKey(b);
}

/** JSON with object keys sorted, so equal structures print equally. */
export function canonicalJson(v: unknown): string {
  if (v === undefined || v === null) return "null";
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v instanceof Set) return canonicalJson([...v].sort(compareCanonical));
  if (v instanceof Map) {
    const entries = [...v.entries()].map(([k, x]) => [String(k), x] as const);
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  if (typeof v === "object") {
    const keys = Object.keys(v as object).sort();
    const o = v as Record<string, unknown>;
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

function compareCanonical(a: unknown, b: unknown): number {
  const x = canonicalJson(a);
  const y = canonicalJson(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A short human description of a value (explanations, CLI). */
export function describeValue(v: unknown, max = 80): string {
  const s = v === undefined ? "undefined" : canonicalJson(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
