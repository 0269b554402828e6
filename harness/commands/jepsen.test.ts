// `npm run jepsen` argument parsing: which command line runs the suite and which a single test,
// with exact option names, options that do not apply rejected (exit 254), and bounds on --nodes.
// Tests planJepsen (nothing runs) plus main() for the exit code of a usage error.

import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_SUITE } from "../suite.ts";
import { MAX_NODES, main, planJepsen, UsageError, usage } from "./jepsen.ts";

function plan(argv: string) {
  return planJepsen(argv.split(" ").filter((a) => a.length > 0));
}
function planOf<K extends ReturnType<typeof planJepsen>["kind"]>(argv: string, kind: K) {
  const p = plan(argv);
  expect(p.kind).toBe(kind);
  return p as Extract<ReturnType<typeof planJepsen>, { kind: K }>;
}
function rejects(argv: string, message: RegExp) {
  expect(() => plan(argv)).toThrow(UsageError);
  expect(() => plan(argv)).toThrow(message);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("planJepsen: the suite or a single run", () => {
  it("no options, or only suite options, run the default suite", () => {
    const s = planOf("", "suite");
    expect(s.base.nodes).toBe(3);
    expect(s.base.concurrency).toBe(6);
    expect(s.seed).toBeUndefined();
    expect(s.only).toBeUndefined();
    const t = planOf("--test lww-clock-skew,unsafe-partition --seed 9 --store /tmp/s", "suite");
    expect(t.only).toEqual(["lww-clock-skew", "unsafe-partition"]);
    expect(t.seed).toBe(9);
    expect(t.base.store).toBe("/tmp/s");
    expect(planOf("--clock hook", "suite").base.clock).toBe("hook");
    expect(planOf("suite --test=lww-clock-skew", "suite").only).toEqual(["lww-clock-skew"]);
  });

  it("--test-count is a single-run option: it runs one test that many times", () => {
    const r = planOf("--test-count 2", "run");
    expect(r.count).toBe(2);
    expect(r.options.workload).toBe("register");
    expect(r.options.nodes).toBe(5);
    rejects("--test-count 0", /--test-count must be an integer from 1 to 1000/);
    rejects("suite --test-count 2", /--test-count does not apply to the suite/);
  });

  it("--clock-skew and --clock-direction alone are a single run, not the suite", () => {
    expect(planOf("--clock-skew 500", "run").options.clockSkewMs).toBe(500);
    expect(planOf("--clock-direction forward", "run").options.faultOptions?.clockDirection).toBe(
      "forward",
    );
    expect(planOf("--nodes 3", "run").options.nodes).toBe(3);
  });

  it("a single run takes every run option", () => {
    const r = planOf(
      "--workload set --nemesis partition,kill --nodes 3 --time-limit 20 --concurrency 2n " +
        "--rate 50 --seed 7 --consistency all --conflict-mode lww --test-count 3 --store st " +
        "--leave-running --clock hook --clock-skew 300 --clock-direction backward " +
        "--partition-mode reset --final-repair off --node-setting w=1 --node-setting read-repair=off " +
        "--name mine --nemesis-interval 2",
      "run",
    );
    expect(r.count).toBe(3);
    expect(r.options).toMatchObject({
      name: "mine",
      workload: "set",
      nemesis: ["partition", "kill"],
      nodes: 3,
      timeLimitS: 20,
      nemesisIntervalS: 2,
      concurrency: 6,
      rate: 50,
      seed: 7,
      consistency: "all",
      conflictMode: "lww",
      store: "st",
      leaveRunning: true,
      clock: "hook",
      clockSkewMs: 300,
      faultOptions: { clockDirection: "backward", partitionMode: "reset" },
      finalRepair: false,
      nodeSettings: { w: 1, "read-repair": "off" },
    });
  });
});

describe("planJepsen: options that do not apply are errors", () => {
  it("--test outside the suite", () => {
    rejects("--workload set --test zzz", /--test does not apply to a single run.*suite --test/);
    rejects("cleanup --test zzz", /--test does not apply to cleanup/);
  });

  it("--force outside cleanup", () => {
    rejects("--force", /--force does not apply to a single run.*cleanup --force/);
    rejects("--workload set --force", /--force does not apply to a single run/);
    rejects("suite --force", /--force does not apply to the suite/);
    expect(planOf("cleanup --force --store x", "cleanup")).toEqual({
      kind: "cleanup",
      store: "x",
      force: true,
    });
  });

  it("single-run options given to suite, analyze or cleanup", () => {
    rejects("suite --workload set", /--workload does not apply to the suite/);
    rejects("suite --nodes 5", /--nodes does not apply to the suite/);
    rejects("suite --time-limit 5 --rate 3", /--time-limit, --rate do not apply to the suite/);
    rejects("cleanup --seed 1", /--seed does not apply to cleanup/);
    rejects("analyze store/latest --store x", /--store does not apply to analyze/);
    expect(planOf("analyze store/latest", "analyze").dir).toBe("store/latest");
  });

  it("unknown options, commands and stray arguments", () => {
    rejects("--tests a", /Unknown option '--tests'/);
    rejects("--clocks hook", /Unknown option/);
    rejects("frobnicate", /unknown command "frobnicate"/);
    rejects("suite extra", /unexpected argument "extra"/);
    rejects("analyze", /exactly one run directory/);
    rejects("cleanup x", /cleanup takes no arguments/);
    rejects("--test nope", /no suite test "nope"/);
    rejects("--test ,", /at least one test name/);
  });

  it("--help wins over everything else", () => {
    expect(plan("--workload set --test x --help").kind).toBe("help");
    expect(plan("-h").kind).toBe("help");
  });
});

describe("planJepsen: values", () => {
  it(`--nodes is bounded: 1 to ${MAX_NODES}`, () => {
    expect(planOf(`--nodes ${MAX_NODES}`, "run").options.nodes).toBe(MAX_NODES);
    expect(planOf("--nodes 1", "run").options.nodes).toBe(1);
    rejects(
      `--nodes ${MAX_NODES + 1}`,
      new RegExp(`--nodes must be an integer from 1 to ${MAX_NODES}`),
    );
    rejects("--nodes 0", /--nodes must be/);
    rejects("--nodes 2.5", /--nodes must be/);
    rejects("--nodes x", /--nodes must be/);
    rejects("--nodes= ", /--nodes must be/);
  });

  it("--concurrency is bounded, numbers and <k>n", () => {
    expect(planOf("--nodes 4 --concurrency 3n", "run").options.concurrency).toBe(12);
    expect(planOf("--concurrency 7", "run").options.concurrency).toBe(7);
    rejects("--concurrency 0n", /gives 0 workers/);
    rejects("--concurrency 1001", /--concurrency must be an integer from 1 to 1000/);
    rejects("--nodes 15 --concurrency 100n", /gives 1500 workers/);
  });

  it("--consistency serial is the register's only: set and convergence reject it", () => {
    expect(planOf("--consistency serial", "run").options.consistency).toBe("serial");
    rejects(
      "--workload set --consistency serial",
      /--consistency serial applies to the register workload only/,
    );
    rejects("--workload convergence --consistency serial", /register workload only/);
    expect(planOf("--workload set --consistency one", "run").options.consistency).toBe("one");
  });

  it("bad values name the option", () => {
    rejects("--workload queue", /--workload must be one of register, set, convergence/);
    rejects("--nemesis flood", /unknown nemesis "flood"/);
    rejects("--final-repair maybe", /--final-repair must be one of on, off/);
    rejects("--node-setting w", /--node-setting must be name=value/);
    rejects("--time-limit 0", /--time-limit must be a number ≥ 1/);
  });

  it("the suite's test list is the default suite's", () => {
    for (const t of DEFAULT_SUITE)
      expect(planOf(`--test ${t.name}`, "suite").only).toEqual([t.name]);
  });
});

describe("main", () => {
  it("a usage error prints the message and the usage text and exits 254, running nothing", async () => {
    const err: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((s) => err.push(String(s)) > 0);
    expect(await main(["--workload", "set", "--test", "zzz"])).toBe(254);
    expect(err.join("")).toContain("jepsen: --test does not apply to a single run");
    expect(err.join("")).toContain(usage());
  });

  it("--help prints every option with its default", async () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((s) => out.push(String(s)) > 0);
    expect(await main(["--help"])).toBe(0);
    const text = out.join("");
    for (const o of ["--nodes", "--test-count", "--clock-skew", "--force", "--test"])
      expect(text).toContain(o);
    expect(text).toContain(`cluster size, 1–${MAX_NODES} (default 5)`);
  });
});
