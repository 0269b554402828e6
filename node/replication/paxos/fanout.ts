// Sends one request to several replicas and stops waiting as soon as the caller has heard enough,
// keeping track of which requests may still land (the proposer needs that to tell definite from
// indefinite outcomes).

import type { NodeId } from "../../cluster/types.ts";

export interface Fanout<T> {
  replies: Array<{ node: NodeId; reply: T }>;
  errors: Array<{ node: NodeId; error: unknown }>;
  /** Requests still in flight when the caller stopped waiting: they may yet be applied. */
  pending: NodeId[];
}

/**
 * Calls `send` for every target and resolves once `enough(progress)` holds or every call has
 * settled. Later replies are dropped. `send` must settle on its own (transport deadlines do).
 */
export function fanout<T>(
  targets: readonly NodeId[],
  send: (node: NodeId) => Promise<T>,
  enough: (progress: Fanout<T>) => boolean,
): Promise<Fanout<T>> {
  return new Promise((resolve) => {
    const progress: Fanout<T> = { replies: [], errors: [], pending: [...targets] };
    let finished = false;
    const check = () => {
      if (finished) return;
      if (progress.pending.length === 0 || enough(progress)) {
        finished = true;
        resolve({
          replies: [...progress.replies],
          errors: [...progress.errors],
          pending: [...progress.pending],
        });
      }
    };
    const settle = (node: NodeId) => {
      const i = progress.pending.indexOf(node);
      if (i >= 0) progress.pending.splice(i, 1);
    };
    if (targets.length === 0) {
      check();
      return;
    }
    for (const node of targets) {
      let p: Promise<T>;
      try {
        p = send(node);
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        (reply) => {
          if (finished) return;
          settle(node);
          progress.replies.push({ node, reply });
          check();
        },
        (error: unknown) => {
          if (finished) return;
          settle(node);
          progress.errors.push({ node, error });
          check();
        },
      );
    }
  });
}
