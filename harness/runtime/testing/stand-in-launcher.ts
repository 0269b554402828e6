// Launches the stand-in node (for runtime tests) with the same CLI shape as the reference node.

import { fileURLToPath } from "node:url";
import type { LaunchCommand, NodeLauncher, NodeSpec } from "../types.ts";

const SCRIPT = fileURLToPath(new URL("./stand-in-node.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export const standInLauncher: NodeLauncher = {
  name: "stand-in",
  command(spec: NodeSpec): LaunchCommand {
    const args = ["--import", "tsx", SCRIPT, "--id", spec.id, "--data-dir", spec.dataDir];
    args.push("--host", spec.host, "--admin-token", spec.adminToken);
    for (const [peer, a] of Object.entries(spec.peers))
      args.push("--peer", `${peer}=${a.host}:${a.port}`);
    for (const [k, v] of Object.entries(spec.settings)) args.push("--set", `${k}=${v}`);
    return { file: process.execPath, args, cwd: ROOT };
  },
};
