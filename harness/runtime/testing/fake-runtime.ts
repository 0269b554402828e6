// An in-memory Runtime for nemesis and suite tests: records every call and keeps the state a real
// runtime would (node states, faulty links, clock offsets), without starting anything.

import type { ClockChange, LinkMode, NodeInfo, Runtime } from "../types.ts";

/** An in-memory runtime: records calls and keeps the state a real one would. */
export class FakeRuntime implements Runtime {
  readonly name = "fake";
  readonly calls: string[] = [];
  private readonly state = new Map<string, NodeInfo>();
  private readonly links = new Map<string, LinkMode>();
  constructor(readonly nodes: readonly string[]) {
    for (const id of nodes)
      this.state.set(id, {
        id,
        state: "running",
        http: { host: "h", port: 1 },
        peer: { host: "h", port: 2 },
        pid: 100,
        starts: 1,
        clockOffsetMs: 0,
      });
  }
  async start() {}
  info(id: string) {
    return { ...this.state.get(id)! };
  }
  private set(id: string, patch: Partial<NodeInfo>) {
    this.state.set(id, { ...this.state.get(id)!, ...patch });
  }
  async startNode(id: string) {
    this.calls.push(`start ${id}`);
    this.set(id, { state: "running", pid: 200 });
    return this.info(id);
  }
  async stopNode(id: string) {
    this.set(id, { state: "stopped", pid: null });
  }
  async kill(id: string) {
    this.calls.push(`kill ${id}`);
    this.set(id, { state: "killed", pid: null });
  }
  async pause(id: string) {
    this.calls.push(`pause ${id}`);
    this.set(id, { state: "paused" });
  }
  async resume(id: string) {
    this.calls.push(`resume ${id}`);
    this.set(id, { state: "running" });
  }
  async setLink(from: string, to: string, mode: LinkMode) {
    this.calls.push(`link ${from}->${to} ${mode.kind}`);
    if (mode.kind === "up") this.links.delete(`${from}>${to}`);
    else this.links.set(`${from}>${to}`, mode);
  }
  faultyLinks(): Array<[string, string, LinkMode]> {
    return [...this.links].map(([k, m]) => [k.split(">")[0]!, k.split(">")[1]!, m]);
  }
  async healLinks() {
    this.calls.push("heal links");
    this.links.clear();
  }
  async setClockOffset(id: string, offsetMs: number): Promise<ClockChange> {
    this.calls.push(`clock ${id} ${offsetMs}`);
    this.set(id, { clockOffsetMs: offsetMs });
    return { node: id, offsetMs, mechanism: "hook", effectiveWithinMs: 0 };
  }
  logs() {
    return {};
  }
  async teardown() {}
}
