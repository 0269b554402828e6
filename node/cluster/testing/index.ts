// Test doubles for the cluster layer, for any part of the node that needs a cluster in a test.
export { type CapturedLog, captureLog, type LogLine } from "./log-capture.ts";
export { MemoryNetwork, type MemoryNetworkOptions } from "./memory-network.ts";
export {
  type DeliveredCall,
  type LinkFault,
  MemoryTransport,
  MemoryTransportHub,
} from "./memory-transport.ts";
export { SimClock, SimTimers, settle } from "./sim-time.ts";
export { noFileSystem, SimWorld, type SimWorldOptions } from "./sim-world.ts";
export { StaticLiveness } from "./static-liveness.ts";
