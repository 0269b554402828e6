// Child process for crash.test.ts: writes a deterministic stream of puts and deletes into an
// engine and prints the index of every acknowledged op on stdout, until it is SIGKILLed.
//
//   node --import tsx node/storage/crash-writer.ts <dir> <sync mode> <cycle>

import { realEnv, silentLogger } from "../env/index.ts";
import { CRASH_CONCURRENCY, CRASH_ENGINE_OPTIONS, crashOp, encodeCrashKey } from "./crash-ops.ts";
import { openEngine } from "./engine.ts";

async function main(): Promise<void> {
  // The parent stops reading when it has seen enough; that is not an error here.
  process.stdout.on("error", () => process.exit(0));
  const [dir, sync, cycleArg] = process.argv.slice(2);
  if (dir === undefined || sync === undefined || cycleArg === undefined) {
    throw new Error("usage: crash-writer.ts <dir> <sync mode> <cycle>");
  }
  const cycle = Number(cycleArg);
  const db = await openEngine(realEnv({ log: silentLogger }), dir, {
    ...CRASH_ENGINE_OPTIONS,
    sync,
  });
  process.stdout.write("ready\n");
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const op = crashOp(cycle, i);
      const key = encodeCrashKey(op.key);
      if (op.value === undefined) await db.delete(key);
      else await db.put(key, op.value);
      process.stdout.write(`${i}\n`);
    }
  };
  await Promise.all(Array.from({ length: CRASH_CONCURRENCY }, worker));
}

main().catch((e: unknown) => {
  process.stderr.write(
    `crash-writer: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(3);
});
