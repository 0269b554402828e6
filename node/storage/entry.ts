// The unit every layer passes around: a key with either a value or a tombstone, exposed as byte
// ranges so iterating a memtable or a block allocates nothing per entry.

export const KIND_PUT = 0;
export const KIND_TOMBSTONE = 1;
export type EntryKind = typeof KIND_PUT | typeof KIND_TOMBSTONE;

/** A position in a sorted run of entries (memtable, SSTable, or a merge of them). Fields describe
 * the current entry and are valid until the next move. A move returns a promise only when it
 * has to read from disk, so in-memory iteration stays synchronous. */
export interface EntryCursor {
  valid: boolean;
  keyBuf: Uint8Array;
  keyOff: number;
  keyLen: number;
  kind: EntryKind;
  valBuf: Uint8Array;
  valOff: number;
  valLen: number;
  /** Wall-clock ms of the delete, for tombstones; 0 for puts. */
  deletedAt: number;
  seekToFirst(): Promise<void> | undefined;
  /** Positions at the first entry with key >= target. */
  seek(target: Uint8Array): Promise<void> | undefined;
  next(): Promise<void> | undefined;
}

export const EMPTY = new Uint8Array(0);
