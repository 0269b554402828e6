// A LivenessView a test sets by hand.

import type { LivenessView, NodeId } from "../types.ts";

export class StaticLiveness implements LivenessView {
  private readonly down = new Set<NodeId>();

  constructor(down: Iterable<NodeId> = []) {
    for (const d of down) this.down.add(d);
  }

  isAlive(node: NodeId): boolean {
    return !this.down.has(node);
  }

  setDown(node: NodeId, down = true): void {
    if (down) this.down.add(node);
    else this.down.delete(node);
  }
}
