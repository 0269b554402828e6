// The benchmark's targets by name.

import { ceilingTarget } from "./ceiling.ts";
import { etcdTarget } from "./etcd.ts";
import { quorumlabTarget } from "./quorumlab.ts";
import { redisTarget } from "./redis.ts";
import type { BenchTarget } from "./types.ts";

export const TARGET_NAMES = ["quorumlab", "etcd", "redis", "http"] as const;

export function targetByName(name: string): BenchTarget {
  switch (name) {
    case "quorumlab":
    case "ref":
      return quorumlabTarget();
    case "etcd":
      return etcdTarget;
    case "redis":
      return redisTarget;
    case "http":
    case "ceiling":
      return ceilingTarget;
    default:
      throw new Error(`unknown target "${name}"; known: ${TARGET_NAMES.join(", ")}`);
  }
}
