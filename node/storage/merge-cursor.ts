// Merges sorted cursors into one sorted stream in which every key appears once, taken from the
// highest-priority (newest) source that has it. Scans and compactions both read through it.

import { compareRange } from "./coding.ts";
import { EMPTY, type EntryCursor, type EntryKind, KIND_PUT } from "./entry.ts";

export class MergingCursor implements EntryCursor {
  valid = false;
  keyBuf: Uint8Array = EMPTY;
  keyOff = 0;
  keyLen = 0;
  kind: EntryKind = KIND_PUT;
  valBuf: Uint8Array = EMPTY;
  valOff = 0;
  valLen = 0;
  deletedAt = 0;
  private cur = -1;

  /** `sources[0]` has the highest priority (the newest data). */
  constructor(private readonly sources: EntryCursor[]) {}

  private all(move: (c: EntryCursor) => Promise<void> | undefined): Promise<void> | undefined {
    let pending: Promise<void>[] | undefined;
    for (const s of this.sources) {
      const p = move(s);
      if (p !== undefined) {
        pending ??= [];
        pending.push(p);
      }
    }
    if (pending === undefined) {
      this.settle();
      return undefined;
    }
    return Promise.all(pending).then(() => this.settle());
  }

  private settle(): void {
    let best = -1;
    let bk: EntryCursor | undefined;
    const src = this.sources;
    for (let i = 0; i < src.length; i++) {
      const s = src[i]!;
      if (!s.valid) continue;
      if (
        bk === undefined ||
        compareRange(s.keyBuf, s.keyOff, s.keyLen, bk.keyBuf, bk.keyOff, bk.keyLen) < 0
      ) {
        best = i;
        bk = s;
      }
    }
    this.cur = best;
    if (bk === undefined) {
      this.valid = false;
      return;
    }
    this.valid = true;
    this.keyBuf = bk.keyBuf;
    this.keyOff = bk.keyOff;
    this.keyLen = bk.keyLen;
    this.kind = bk.kind;
    this.valBuf = bk.valBuf;
    this.valOff = bk.valOff;
    this.valLen = bk.valLen;
    this.deletedAt = bk.deletedAt;
  }

  seekToFirst(): Promise<void> | undefined {
    return this.all((c) => c.seekToFirst());
  }

  seek(target: Uint8Array): Promise<void> | undefined {
    return this.all((c) => c.seek(target));
  }

  /** Moves past the current key in every source that has it (older versions are shadowed). */
  next(): Promise<void> | undefined {
    if (!this.valid) return undefined;
    const w = this.sources[this.cur]!;
    let pending: Promise<void>[] | undefined;
    // Advance the shadowed sources first: the winner's key bytes stay valid until it moves.
    for (let i = 0; i < this.sources.length; i++) {
      if (i === this.cur) continue;
      const s = this.sources[i]!;
      if (
        s.valid &&
        compareRange(s.keyBuf, s.keyOff, s.keyLen, w.keyBuf, w.keyOff, w.keyLen) === 0
      ) {
        const p = s.next();
        if (p !== undefined) {
          pending ??= [];
          pending.push(p);
        }
      }
    }
    const p = w.next();
    if (p !== undefined) {
      pending ??= [];
      pending.push(p);
    }
    if (pending === undefined) {
      this.settle();
      return undefined;
    }
    return Promise.all(pending).then(() => this.settle());
  }
}
