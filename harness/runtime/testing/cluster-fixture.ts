// For integration tests that start a local cluster of node processes per test: a fresh folder and
// cluster on `start`, and after each test (passed or failed) every node stopped, the ones
// restarted by hand too, and the folder removed.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import type { LaunchedNode } from "../launch.ts";
import {
  type LocalCluster,
  type LocalClusterOptions,
  startLocalCluster,
} from "../local-cluster.ts";

export interface ClusterFixture {
  /** Nodes a test launched by hand (restarts): stopped after the test. */
  readonly extra: LaunchedNode[];
  /** The running test's folder (after `start`). */
  dir(): string;
  /** A new folder under the system temp dir named `<prefix>…`, and a cluster in it. */
  start(opts: Omit<LocalClusterOptions, "dir">): Promise<LocalCluster>;
}

/** Call inside a `describe`: registers the cleanup with `afterEach`. */
export function useClusterFixture(prefix: string): ClusterFixture {
  let dir: string | undefined;
  let cluster: LocalCluster | undefined;
  const extra: LaunchedNode[] = [];
  afterEach(async () => {
    await Promise.allSettled(extra.map((n) => n.stop(5_000)));
    extra.length = 0;
    await cluster?.stop();
    cluster = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return {
    extra,
    dir: () => {
      if (dir === undefined) throw new Error("no cluster started in this test");
      return dir;
    },
    async start(opts) {
      dir = mkdtempSync(join(tmpdir(), prefix));
      cluster = await startLocalCluster({ ...opts, dir });
      return cluster;
    },
  };
}
