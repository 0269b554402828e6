import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EdnChar,
  EdnError,
  EdnList,
  EdnReader,
  EdnSet,
  EdnSymbol,
  EdnTagged,
  type EdnValue,
  ednToPlain,
  Keyword,
  printEdn,
} from "./edn.ts";

const read1 = (s: string): EdnValue => {
  const all = EdnReader.readAll(s);
  expect(all).toHaveLength(1);
  return all[0]!;
};

describe("EDN reader", () => {
  it("reads scalars", () => {
    expect(read1("nil")).toBeNull();
    expect(read1("true")).toBe(true);
    expect(read1("false")).toBe(false);
    expect(read1("42")).toBe(42);
    expect(read1("-7")).toBe(-7);
    expect(read1("+3")).toBe(3);
    expect(read1("1.5")).toBe(1.5);
    expect(read1("-2.5e3")).toBe(-2500);
    expect(read1("10M")).toBe(10);
    expect(read1("7N")).toBe(7);
    expect(read1("1/4")).toBe(0.25);
    expect(read1("123456789012345678901234567890")).toBe(123456789012345678901234567890n);
    expect(read1("##Inf")).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(read1("##NaN"))).toBe(true);
    expect(read1(":invoke")).toBe(Keyword.for("invoke"));
    expect(read1(":jepsen/nemesis")).toBe(Keyword.for("jepsen/nemesis"));
    expect(read1("foo-bar?")).toEqual(new EdnSymbol("foo-bar?"));
    expect(read1("-")).toEqual(new EdnSymbol("-"));
    expect(read1("\\a")).toEqual(new EdnChar("a"));
    expect(read1("\\newline")).toEqual(new EdnChar("\n"));
    expect(read1("\\u0041")).toEqual(new EdnChar("A"));
    expect(read1("\\(")).toEqual(new EdnChar("("));
  });

  it("reads strings with escapes, including EDN-looking text inside them", () => {
    expect(read1('"a\\"b\\\\c\\n\\t\\u00e9"')).toBe('a"b\\c\n\té');
    expect(read1('"#{ #[ ; {:not a map"')).toBe("#{ #[ ; {:not a map");
  });

  it("reads collections across lines, with commas as whitespace and comments anywhere", () => {
    const v = read1(`; a history
[{:type :invoke,
  :f :txn, ; the op
  :value [[:read :x nil] [:read :y nil]],
  :process 2}
 {:process 22  :type :ok :f :read :value 3},,,
 (1 2 (3)) #{1 2} {}]`);
    expect(Array.isArray(v)).toBe(true);
    const [a, b, list, set, empty] = v as EdnValue[];
    expect(ednToPlain(a!)).toEqual({
      type: "invoke",
      f: "txn",
      value: [
        ["read", "x", null],
        ["read", "y", null],
      ],
      process: 2,
    });
    expect((b as Map<EdnValue, EdnValue>).get(Keyword.for("process"))).toBe(22);
    expect(list).toBeInstanceOf(EdnList);
    expect(ednToPlain(list!)).toEqual([1, 2, [3]]);
    expect(set).toBeInstanceOf(EdnSet);
    expect(ednToPlain(empty!)).toEqual({});
  });

  it("reads tagged literals and discards #_ forms", () => {
    const v = read1(
      '[#inst "2024-01-01T00:00:00Z" #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6" #my/tag {:a 1} #_ :gone 2]',
    );
    const [inst, uuid, custom, two] = v as EdnValue[];
    expect(inst).toEqual(new EdnTagged("inst", "2024-01-01T00:00:00Z"));
    expect((uuid as EdnTagged).tag).toBe("uuid");
    expect(ednToPlain(custom!)).toEqual({ a: 1 });
    expect(two).toBe(2);
    expect(EdnReader.readAll("#_ 1 2 #_ [3]")).toEqual([2]);
  });

  it("reads a sequence of top-level forms", () => {
    expect(EdnReader.readAll("{:a 1}\n{:a 2}\n")).toHaveLength(2);
    expect(EdnReader.readAll("  ; only a comment\n")).toEqual([]);
  });

  it("says where the input is wrong", () => {
    const err = (s: string): EdnError => {
      try {
        EdnReader.readAll(s);
      } catch (e) {
        if (e instanceof EdnError) return e;
        throw e;
      }
      throw new Error(`no error for ${s}`);
    };
    expect(err("[1 2").message).toMatch(/line 1 column 1: "\[" is never closed/);
    expect(err("[1\n 2)").message).toMatch(/line 2 column 3: expected "\]"/);
    expect(err("{:a}").message).toMatch(/even number/);
    expect(err('"abc').message).toMatch(/string is never closed/);
    expect(err('"\\q"').message).toMatch(/unknown escape/);
    expect(err(")").message).toMatch(/unexpected "\)"/);
    expect(err("1.2.3").message).toMatch(/bad number/);
    expect(err("#_").message).toMatch(/discards nothing/);
    expect(err("\\bogus").message).toMatch(/unknown character literal/);
  });
});

const ednValue: fc.Arbitrary<EdnValue> = fc.letrec<{ v: EdnValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.string({ unit: "grapheme" }),
    fc.stringMatching(/^[a-z][a-z0-9\-?]{0,8}(\/[a-z]{1,4})?$/).map((s) => Keyword.for(s)),
    fc.array(tie("v"), { maxLength: 4 }),
    fc.array(tie("v"), { maxLength: 4 }).map((xs) => new EdnList(xs)),
    fc
      .uniqueArray(fc.tuple(fc.string({ maxLength: 5 }), tie("v")), {
        maxLength: 4,
        selector: (t) => t[0],
      })
      .map((entries) => new Map<EdnValue, EdnValue>(entries)),
  ),
})).v;

describe("EDN printer", () => {
  it("prints what the reader reads back", () => {
    fc.assert(
      fc.property(ednValue, (v) => {
        expect(EdnReader.readAll(printEdn(v))).toEqual([v]);
      }),
      { numRuns: 500 },
    );
  });
});
