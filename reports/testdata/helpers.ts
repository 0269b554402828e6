// Helpers for the report tests: copy the fixture runs to a temp store, read a page's payload.

import { cpSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodePayload } from "../client/payload.ts";

export const FIXTURE_RUNS = fileURLToPath(new URL("./runs", import.meta.url));

/** A real harness run (see harness-run/README.md). */
export const HARNESS_RUN = fileURLToPath(
  new URL("./harness-run/register-quorum-vclock-partition/20261123T142819.609Z", import.meta.url),
);

export const FIXTURES = {
  register: "register-quorum-partition/20240501T120000.000Z",
  set: "set-kill/20240501T130000.000Z",
  convergence: "convergence-lww-clock/20240501T140000.000Z",
  valid: "register-no-faults/20240501T150000.000Z",
  unknown: "register-budget/20240501T160000.000Z",
} as const;

/** A fresh temp store holding a copy of every fixture run, with store/latest → the newest. */
export function fixtureStore(): string {
  const dir = mkdtempSync(join(tmpdir(), "ql-reports-"));
  const store = join(dir, "store");
  cpSync(FIXTURE_RUNS, store, { recursive: true });
  symlinkSync(join(store, FIXTURES.unknown), join(store, "latest"));
  return store;
}

/** Decodes the data a generated page carries (as the browser would). */
export function extractPayload(html: string): Promise<unknown> {
  const json = /<script type="application\/json" id="ql-payload">([\s\S]*?)<\/script>/.exec(
    html,
  )?.[1];
  if (json === undefined) throw new Error("no payload in page");
  const blobs = Array.from(
    html.matchAll(
      /<script type="application\/octet-stream" class="ql-blob" data-type="(\w+)" data-codec="([\w-]+)" data-length="(\d+)">([^<]*)<\/script>/g,
    ),
    (m) => ({
      type: m[1] as string,
      codec: m[2] as string,
      length: Number(m[3]),
      base64: m[4] as string,
    }),
  );
  return decodePayload(json, blobs);
}
