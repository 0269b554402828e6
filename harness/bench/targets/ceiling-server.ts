// The HTTP ceiling: a bare `node:http` server that answers every GET with a constant (as long as
// the benchmark's values: argv[3], default 100 bytes) and every other request with 204, printing
// its port. What no HTTP store on Node.js can beat.

import * as http from "node:http";
import type { AddressInfo } from "node:net";

const BODY = Buffer.alloc(Number(process.argv[3] ?? 100), "q");
const server = http.createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": BODY.length,
    });
    res.end(BODY);
    return;
  }
  // Read the body as a store would, then answer.
  req.on("data", () => {});
  req.on("end", () => {
    res.writeHead(204);
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
