// Starts a stand-in cluster with the process runtime and holds it until signalled: lets a test
// check that SIGTERM/SIGINT on the harness tears everything down.
// Usage: hold-cluster.ts <store root> <node count>

import { Store } from "../../store.ts";
import { ProcessRuntime } from "../process.ts";
import { installSignalTeardown } from "../teardown.ts";
import { standInLauncher } from "./stand-in-launcher.ts";

const [root, count] = process.argv.slice(2);
if (!root || !count) {
  process.stderr.write("usage: hold-cluster.ts <store root> <node count>\n");
  process.exit(2);
}
installSignalTeardown();
const run = await new Store(root).createRun("hold");
const nodes = Array.from({ length: Number(count) }, (_, i) => `n${i + 1}`);
const rt = new ProcessRuntime({
  nodes,
  run,
  launcher: standInLauncher,
  adminToken: "t",
  clock: "hook",
});
await rt.start();
process.stdout.write(`${JSON.stringify({ pids: rt.pids(), proxyPorts: rt.proxyPorts() })}\n`);
setInterval(() => {}, 1000);
