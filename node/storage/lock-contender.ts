// A child process of lock.test.ts: opens and closes one engine directory `rounds` times, retrying
// while the LOCK is held elsewhere, and while it holds the engine it owns a marker file created
// exclusively next to the directory. Two holders at once would find the other's marker: it prints
// "DOUBLE" and exits 1. Otherwise it prints how many times it held the directory.

import * as fs from "node:fs";
import { realEnv } from "../env/real.ts";
import { openEngine } from "./engine.ts";
import { StorageError } from "./errors.ts";

const [dir, roundsText] = process.argv.slice(2);
if (!dir || !roundsText) {
  process.stderr.write("usage: lock-contender.ts <dir> <rounds>\n");
  process.exit(2);
}
const marker = `${dir}.holder`;
const env = realEnv();
let held = 0;
for (let round = 0; round < Number(roundsText); round++) {
  let db: Awaited<ReturnType<typeof openEngine>>;
  try {
    db = await openEngine(env, dir);
  } catch (err) {
    if (err instanceof StorageError && err.code === "LOCKED") {
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    throw err;
  }
  try {
    fs.writeFileSync(marker, String(process.pid), { flag: "wx" });
  } catch {
    process.stdout.write(`DOUBLE: ${fs.readFileSync(marker, "utf8")} held it too\n`);
    process.exit(1);
  }
  held++;
  await db.put(
    new TextEncoder().encode(`k${process.pid}`),
    new TextEncoder().encode(String(round)),
  );
  fs.rmSync(marker);
  await db.close();
}
process.stdout.write(`held ${held}\n`);
