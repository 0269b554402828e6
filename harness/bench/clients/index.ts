// Builds the load client for a target from its JSON spec (the spec crosses into the load client's
// thread; the client is built there).

import type { ClientSpec, StoreClient } from "../targets/types.ts";
import { etcdClient } from "./etcd.ts";
import { kvHttpClient } from "./kv-http.ts";
import { redisClient } from "./redis.ts";

export function createClient(spec: ClientSpec): StoreClient {
  switch (spec.kind) {
    case "kv-http":
      return kvHttpClient(spec);
    case "etcd":
      return etcdClient(spec);
    case "redis":
      return redisClient(spec);
  }
}
