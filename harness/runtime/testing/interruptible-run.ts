// Runs a long test on the stand-in cluster, prints its run directory and node pids once the main
// phase starts, and waits for a signal: lets a test check what SIGINT/SIGTERM leave in the store.
// Usage: interruptible-run.ts <store root>

import { runTest } from "../../runner.ts";
import { installSignalTeardown } from "../teardown.ts";
import { standInLauncher } from "./stand-in-launcher.ts";

const [root] = process.argv.slice(2);
if (!root) {
  process.stderr.write("usage: interruptible-run.ts <store root>\n");
  process.exit(2);
}
installSignalTeardown();
await runTest(
  {
    name: "interrupted",
    target: "ref",
    nodes: 2,
    workload: "register",
    nemesis: [],
    nemesisIntervalS: 5,
    timeLimitS: 600,
    concurrency: 2,
    rate: 20,
    seed: 1,
    consistency: "quorum",
    conflictMode: "vclock",
    store: root,
    leaveRunning: false,
    clock: "hook",
  },
  {
    launcher: standInLauncher,
    out: { isTTY: false, write: () => true },
    onStarted: (rt, run) => {
      process.stdout.write(`${JSON.stringify({ runDir: run.dir, pids: rt.pids() })}\n`);
    },
  },
);
