// Headless Chromium for the report tests and measurements: Debian's /usr/bin/chromium driven by
// playwright-core, with a fresh profile in a temp directory that close() removes.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

export function haveChromium(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "ql-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    return {
      context,
      async close() {
        try {
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/** Console errors, page errors and failed requests of a page, collected from the start. */
export function collectProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => {
    // Warnings are not collected: the tests' own canvas readbacks make Chromium warn.
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  return problems;
}

/** Opens a report and waits until its client code has drawn everything; returns the load time. */
export async function openReport(page: Page, url: string): Promise<number> {
  const start = Date.now();
  await page.goto(url);
  // A string, so this file needs no DOM types: the client sets data-ready when it has drawn.
  await page.waitForFunction("document.documentElement.dataset.ready !== undefined", null, {
    timeout: 120_000,
  });
  return Date.now() - start;
}
