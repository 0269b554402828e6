// Teardown that always happens: whatever a run started is stopped on success, on failure, on
// SIGINT/SIGTERM, and (synchronously, as a last resort) when the harness process exits.

export interface Teardownable {
  /** Async, orderly teardown; `reason` is the signal's name when a signal caused it. */
  teardown(reason?: string): Promise<void>;
  /** Synchronous last resort: SIGKILL every process group it started. */
  killNow(): void;
}

const live = new Set<Teardownable>();
let installed = false;
let signalled = false;

export function registerTeardown(t: Teardownable): () => void {
  live.add(t);
  return () => live.delete(t);
}

/** Tears down everything registered (used by the signal handlers and by tests). */
export async function teardownAll(reason?: string): Promise<void> {
  await Promise.allSettled([...live].map((t) => t.teardown(reason)));
}

/** Installs SIGINT/SIGTERM/exit handlers once per process. On a signal: tear down everything
 * registered, then exit with 128 + signal number (130 / 143), as shells expect. */
export function installSignalTeardown(onSignal?: (sig: NodeJS.Signals) => void): void {
  if (installed) return;
  installed = true;
  const handle = (sig: NodeJS.Signals) => {
    if (signalled) {
      // A second signal: stop waiting, kill synchronously and leave.
      for (const t of live) t.killNow();
      process.exit(sig === "SIGINT" ? 130 : 143);
    }
    signalled = true;
    onSignal?.(sig);
    void teardownAll(sig).finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", handle);
  process.on("SIGTERM", handle);
  process.on("exit", () => {
    for (const t of live) t.killNow();
  });
}
