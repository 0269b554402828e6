// Counters every part of the engine bumps; `LsmEngine.stats()` turns them into `EngineStats`.

export class StorageCounters {
  puts = 0;
  deletes = 0;
  batches = 0;
  gets = 0;
  scans = 0;
  /** Key and value bytes accepted from callers. */
  userBytesWritten = 0;
  logBytesWritten = 0;
  logSyncs = 0;
  /** Group writes to the commit log (one write(2), at most one fsync, many records). */
  logGroupWrites = 0;
  logRecords = 0;
  tableBytesWritten = 0;
  flushes = 0;
  compactions = 0;
  compactionBytesRead = 0;
  compactionBytesWritten = 0;
  tombstonesDropped = 0;
  bloomChecks = 0;
  bloomSkips = 0;
  bloomFalsePositives = 0;
  blockReads = 0;
  blockBytesRead = 0;
  writeStalls = 0;
  writeStallMs = 0;
}
