// Indicative benchmark of the node's GET hot path: a one-node cluster answering GET with R=1 versus
// a bare node:http server answering a constant 100-byte body, measured alternately in one run with
// the same load tool and concurrency. Run: npx tsx node/api/get-path.bench.ts [seconds] [rounds]

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { launchNode } from "../../harness/runtime/launch.ts";

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 3);
const connections = 64;

const BARE = `
const http = require("node:http");
const body = Buffer.alloc(100, 120);
const s = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": 100 });
  res.end(body);
});
s.listen(0, "127.0.0.1", () => console.log(s.address().port));
`;

async function load(url: string): Promise<number> {
  const r = await autocannon({ url, connections, duration: seconds });
  if (r.non2xx > 0 || r.errors > 0)
    throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return r.requests.average;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "quorumlab-getbench-"));
  const bare = spawn(process.execPath, ["-e", BARE], { stdio: ["ignore", "pipe", "inherit"] });
  const node = await launchNode({
    args: ["--id", "b1", "--n", "1", "--r", "1", "--http-port", "0", "--peer-port", "0"].concat([
      "--data-dir",
      join(dir, "b1"),
      "--log-level",
      "warn",
    ]),
    logFile: join(dir, "b1.log"),
  });
  try {
    const barePort = await new Promise<number>((resolve) =>
      bare.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    const nodeUrl = `http://127.0.0.1:${node.ready.http.port}/kv/0123456789abcdef?r=1`;
    const put = await fetch(nodeUrl.replace("?r=1", ""), { method: "PUT", body: "x".repeat(100) });
    if (put.status !== 204) throw new Error(`PUT answered ${put.status}`);
    const ratios: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const b = await load(`http://127.0.0.1:${barePort}/`);
      const n = await load(nodeUrl);
      ratios.push(n / b);
      console.log(
        `round ${i + 1}: bare ${b.toFixed(0)} req/s, node GET R=1 ${n.toFixed(0)} req/s, ratio ${(n / b).toFixed(2)}`,
      );
    }
    ratios.sort((x, y) => x - y);
    console.log(
      `median ratio ${ratios[Math.floor(ratios.length / 2)]!.toFixed(2)} (target >= 0.50)`,
    );
  } finally {
    bare.kill("SIGKILL");
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
