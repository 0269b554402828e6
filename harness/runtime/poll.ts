// Bounded polling on a condition: the one way the harness, the benchmark and the tests wait for
// something to become true (never a fixed sleep followed by a check).

/** Polls `check` every `everyMs` until it returns true, up to `timeoutMs` of wall time (however
 * long each check takes); then throws naming `what`. A check that throws counts as "not yet". */
export async function waitUntil(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
