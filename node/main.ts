// The node's process entry point: parse config (CLI or --config file), wire the real env, start,
// print one JSON "ready" line on stdout, log JSON lines on stderr, stop gracefully on SIGTERM/SIGINT.

import { readFileSync } from "node:fs";
import { ConfigError, parseNodeConfig, usage } from "./config.ts";
import { jsonLogger, realEnv } from "./env/index.ts";
import { startNode } from "./node.ts";

async function main(argv: string[]): Promise<number> {
  let config: ReturnType<typeof parseNodeConfig>;
  try {
    config = parseNodeConfig(argv, (p) => readFileSync(p, "utf8"));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`error: ${e.message}\n(npm run node -- --help lists every option)\n`);
      return 2;
    }
    throw e;
  }
  if (config === "help") {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const env = realEnv(config.seed === null ? {} : { seed: config.seed });
  env.log = jsonLogger((l) => process.stderr.write(l), env.clock, config.logLevel, {
    node: config.id,
  });
  // A harness that stops reading our stdout must not kill us with EPIPE.
  process.stdout.on("error", () => {});

  process.on("uncaughtException", (e) => {
    env.log.error("uncaught exception", { event: "crash", error: e.stack ?? e.message });
    process.exit(70);
  });
  process.on("unhandledRejection", (e) => {
    env.log.error("unhandled rejection", {
      event: "crash",
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
    process.exit(70);
  });

  const node = await startNode(config, env);
  env.log.info("ready", {
    event: "ready",
    seed: env.random.seed,
    http: node.http,
    peer: node.peer,
  });
  process.stdout.write(
    `${JSON.stringify({ event: "ready", id: node.id, http: node.http, peer: node.peer, pid: process.pid })}\n`,
  );

  await new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (sig: string) => {
      if (signalled) {
        env.log.warn("second signal: exiting at once", { event: "forced-exit", signal: sig });
        process.exit(1);
      }
      signalled = true;
      env.log.info("signal received", { event: "signal", signal: sig });
      node.stop().then(resolve, (e: unknown) => {
        env.log.error("stop failed", { error: String(e) });
        resolve();
      });
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Timers of the stand-in transport or sockets in TIME_WAIT must not keep a stopped node alive.
    if (code === 0) setTimeout(() => process.exit(0), 200).unref();
  },
  (e: unknown) => {
    process.stderr.write(
      `${JSON.stringify({ level: "error", msg: "startup failed", event: "startup-failed", error: e instanceof Error ? (e.stack ?? e.message) : String(e) })}\n`,
    );
    process.exitCode = 1;
  },
);
