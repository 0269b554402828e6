// Per-key serialisation: tasks for one key run strictly one after another (each starts once the
// previous one settled, whatever its outcome); tasks for different keys run concurrently. Used by
// the replica (merges), the hint store and the Paxos acceptor. An entry vanishes when its chain
// drains, so the map holds only keys with work in flight; `max` bounds how many.

export class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** `max`: keys with work in flight at most; a task for another key is refused beyond it, with
   * an error naming `owner`. */
  constructor(
    private readonly max = Number.POSITIVE_INFINITY,
    private readonly owner = "key locks",
  ) {}

  /** Keys with tasks in flight. */
  get active(): number {
    return this.tails.size;
  }

  /** Runs `task` after every earlier task for `key`. With no earlier task it starts at once. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key);
    if (prev === undefined && this.tails.size >= this.max) {
      return Promise.reject(
        new Error(`${this.owner} busy: ${this.max} keys have requests in flight; retry later`),
      );
    }
    const run = prev === undefined ? start(task) : prev.then(task, task);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return run;
  }
}

function start<T>(task: () => Promise<T>): Promise<T> {
  try {
    return task();
  } catch (e) {
    return Promise.reject(e);
  }
}
