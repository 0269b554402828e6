import { describe, expect, it } from "vitest";
import { ConfigError, configToJson, type NodeConfig, parseNodeConfig } from "./config.ts";

const files: Record<string, string> = {
  "ok.json": JSON.stringify({
    id: "f1",
    n: 5,
    r: 3,
    mode: "lww",
    peers: { f2: "127.0.0.1:9000", f3: null },
  }),
  "unknown.json": JSON.stringify({ id: "f1", replicas: 3 }),
  "bad.json": "{ not json",
  "array.json": "[]",
  "join.json": JSON.stringify({ id: "j1", join: true, hintedHandoff: false, quorum: "strict" }),
  "join-bad.json": JSON.stringify({ id: "j1", join: "yes" }),
};
const read = (p: string) => {
  const f = files[p];
  if (f === undefined) throw new Error("ENOENT");
  return f;
};
const parse = (argv: string[]) => parseNodeConfig(argv, read) as NodeConfig;

describe("node config", () => {
  it("has documented defaults", () => {
    const c = parse(["--id", "n1"]);
    expect(c).toMatchObject({
      id: "n1",
      host: "127.0.0.1",
      httpPort: 7070,
      peerPort: 7071,
      n: 3,
      r: 2,
      w: 2,
      mode: "vclock",
      readRepair: "async",
      readRepairPercent: 100,
      maxKeyBytes: 1024,
      maxValueBytes: 1048576,
      adminToken: null,
      sync: { kind: "always" },
      dataDir: "data/n1",
    });
    expect(c.peers.size).toBe(0);
  });

  it("reads a config file, and CLI options win over it", () => {
    const c = parse([
      "--config",
      "ok.json",
      "--r",
      "2",
      "--peer",
      "f4=localhost:1234",
      "--sync",
      "batch:5",
      "--read-repair-percent",
      "10",
    ]);
    expect(c).toMatchObject({
      id: "f1",
      n: 5,
      r: 2,
      mode: "lww",
      sync: { kind: "batch", windowMs: 5 },
      readRepairPercent: 10,
    });
    expect([...c.peers.entries()]).toEqual([
      ["f2", { host: "127.0.0.1", port: 9000 }],
      ["f3", null],
      ["f4", { host: "localhost", port: 1234 }],
    ]);
  });

  it("refuses unknown options and settings, and bad values, with a clear message", () => {
    const bad: [string[], RegExp][] = [
      [["--id", "n1", "--bogus", "1"], /Unknown option '--bogus'/],
      [["--config", "unknown.json"], /unknown setting "replicas"/],
      [["--config", "bad.json"], /not valid JSON/],
      [["--config", "array.json"], /JSON object/],
      [["--config", "missing.json"], /cannot read/],
      [[], /--id is required/],
      [["--id", "has space"], /letters, digits/],
      [["--id", "n1", "--n", "3", "--r", "4"], /r .* from 1 to 3/],
      [["--id", "n1", "--http-port", "70000"], /httpPort/],
      [["--id", "n1", "--http-port", "12x"], /must be an integer/],
      [["--id", "n1", "--mode", "crdt"], /vclock, lww/],
      [["--id", "n1", "--read-repair-percent", "101"], /readRepairPercent .* from 0 to 100/],
      [["--id", "n1", "--sync", "sometimes"], /sync must be/],
      [["--id", "n1", "--peer", "n2=nohost"], /host:port/],
      [["--id", "n1", "--peer", "n1=127.0.0.1:1"], /own id/],
      [["--id", "n1", "--timeout-ms", "5000", "--max-timeout-ms", "100"], /exceeds maxTimeoutMs/],
      [["--id", "n1", "stray"], /positional/i],
    ];
    for (const [argv, msg] of bad) {
      expect(() => parseNodeConfig(argv, read), argv.join(" ")).toThrow(ConfigError);
      expect(() => parseNodeConfig(argv, read), argv.join(" ")).toThrow(msg);
    }
  });

  it("writes peer addresses it can read back, IPv6 in brackets", () => {
    const c = parse(["--id", "n1", "--peer", "n2=[::1]:7071", "--peer", "n3=127.0.0.1:7072"]);
    const peers = configToJson(c).peers as Record<string, string>;
    expect(peers).toEqual({ n2: "[::1]:7071", n3: "127.0.0.1:7072" });
    const again = parse([
      "--id",
      "n1",
      ...Object.entries(peers).flatMap(([id, a]) => ["--peer", `${id}=${a}`]),
    ]);
    expect([...again.peers.entries()]).toEqual([...c.peers.entries()]);
  });

  it("accepts ephemeral ports and members without an address yet", () => {
    const c = parse([
      "--id",
      "n1",
      "--http-port",
      "0",
      "--peer-port",
      "0",
      "--peer",
      "n2",
      "--peer",
      "n3=",
    ]);
    expect([c.httpPort, c.peerPort]).toEqual([0, 0]);
    expect([...c.peers.entries()]).toEqual([
      ["n2", null],
      ["n3", null],
    ]);
    expect(parseNodeConfig(["--help"], read)).toBe("help");
  });

  it("hinted handoff, quorum mode and joining: defaults, forms, and the hint age bound", () => {
    const d = parse(["--id", "n1"]);
    expect(d).toMatchObject({
      quorum: "sloppy",
      hintedHandoff: true,
      hintMaxAgeMs: 1_800_000, // half the default tombstone grace of one hour
      hintsPerTarget: 100_000,
      hintBytesPerTarget: 128 * 1024 * 1024,
      hintReplayIntervalMs: 10_000,
      hintReplayBytesPerSecond: 4 * 1024 * 1024,
      join: false,
      streamBytesPerSecond: 32 * 1024 * 1024,
    });
    // A long grace: at most three hours.
    expect(parse(["--id", "n1", "--tombstone-grace-ms", "86400000"]).hintMaxAgeMs).toBe(10_800_000);
    // A short grace: half of it.
    expect(parse(["--id", "n1", "--tombstone-grace-ms", "2000"]).hintMaxAgeMs).toBe(1000);
    expect(parse(["--id", "n1", "--join", "--hinted-handoff", "off"])).toMatchObject({
      join: true,
      hintedHandoff: false,
    });
    // The harness passes booleans as words.
    expect(parse(["--id", "n1", "--hinted-handoff", "false"]).hintedHandoff).toBe(false);
    expect(parse(["--id", "n1", "--hinted-handoff", "true"]).hintedHandoff).toBe(true);
    expect(parse(["--config", "join.json"])).toMatchObject({
      join: true,
      hintedHandoff: false,
      quorum: "strict",
    });
    // Without hinted handoff the age bound does not matter, so a zero grace is fine.
    expect(
      parse(["--id", "n1", "--tombstone-grace-ms", "0", "--hinted-handoff", "off"]).hintedHandoff,
    ).toBe(false);
    const bad: [string[], RegExp][] = [
      [["--id", "n1", "--quorum", "loose"], /quorum .* sloppy, strict/],
      [["--id", "n1", "--hinted-handoff", "maybe"], /must be on or off/],
      [["--config", "join-bad.json"], /join .* true or false/],
      [["--id", "n1", "--join", "yes"], /positional|Unexpected argument/i],
      [
        ["--id", "n1", "--hint-max-age-ms", "3600000"],
        /hintMaxAgeMs 3600000 must be below tombstoneGraceMs 3600000/,
      ],
      [["--id", "n1", "--tombstone-grace-ms", "0"], /--hinted-handoff off/],
      [["--id", "n1", "--hints-per-target", "0"], /hintsPerTarget/],
    ];
    for (const [argv, msg] of bad) {
      expect(() => parseNodeConfig(argv, read), argv.join(" ")).toThrow(ConfigError);
      expect(() => parseNodeConfig(argv, read), argv.join(" ")).toThrow(msg);
    }
  });
});
