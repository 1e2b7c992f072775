/**
 * Open-time recovery. Upstream: `DefaultMessageStore#load` + `#recover`,
 * `CommitLog#recoverNormally` / `#recoverAbnormally`, `ConsumeQueue#recover`.
 *
 * The `abort` file (made durable first) marks an unclean stop. The commitlog is verified from the
 * checkpoint on (layout, offset, whole-record and body CRC); a damaged record with valid records
 * after it is quarantined (kept on disk, offsets never move, never served) and reported, a torn
 * tail is cut. Consume queues and the index are rebuilt by dispatching the same records
 * (idempotently, dispatcher.ts) from where each is known durable; deleting `consumequeue/` or
 * `index/` (or the checkpoint) forces a full rebuild. The `RecoveryReport` says what was cut,
 * quarantined and rebuilt.
 */
import type { StoreCheckpoint } from './checkpoint.js';
import type { CommitLog, CommitLogRecovery } from './commit-log.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import type { Dispatcher, RecoveryCounts } from './dispatcher.js';
import type { IndexService } from './index-file.js';
import { replaceFileSync, type FileIO } from './io/file-io.js';
import { loadRecordCrcMarker, saveRecordCrcMarker } from './record-crc-marker.js';
import type { TopicTombstones } from './topic-tombstones.js';

/** Present while a store is open: found at open, the last stop was not clean. */
export const ABORT_FILE = 'abort';

export interface RecoveryReport {
  abnormalShutdown: boolean;
  /** 'valid', or why the checkpoint was not used. */
  checkpoint: string;
  commitLog: CommitLogRecovery & { minOffset: number; maxOffset: number };
  consumeQueues: {
    queues: number;
    /** Bytes cut from consume-queue tails (partial or zero entries). */
    tailBytesCut: number;
    /** Entries dropped because their record is gone (commitlog truncated). */
    dirtyEntriesDropped: number;
    rebuiltFrom: number;
    fullRebuild: boolean;
    entriesAdded: number;
    entriesRepaired: number;
    holes: number;
  };
  index: { files: number; deletedFiles: { name: string; reason: string }[]; rebuiltFrom: number; fullRebuild: boolean };
  durationMs: number;
}

export interface RecoveryParts {
  io: FileIO;
  storeDir: string;
  abortPath: string;
  recordCrcPath: string;
  /** Verify body CRCs while scanning (checkCRCOnRecover). */
  checkCRC: boolean;
  commitLog: CommitLog;
  queues: ConsumeQueueTable;
  index: IndexService;
  checkpoint: StoreCheckpoint;
  tombstones: TopicTombstones;
  dispatcher: Dispatcher;
}

export interface RecoveryOutcome {
  report: RecoveryReport;
  /** The log's end after recovery: everything below it is dispatched. */
  endOffset: number;
  /** Store time of the last checkpointed record (0 without a checkpoint). */
  lastStoreTimestamp: number;
}

/**
 * Loads every file and recovers them to one consistent state; throws when a consume queue cannot
 * be written (the store then stays closed). Durations are the caller's to fill in.
 */
export function recoverStore(parts: RecoveryParts): RecoveryOutcome {
  const { io, commitLog, queues, index, dispatcher } = parts;
  io.mkdirSync(parts.storeDir, { recursive: true });
  const abnormal = io.existsSync(parts.abortPath);
  const cp = parts.checkpoint.load();
  // Durable before anything else is written: after a power failure its absence would make
  // recovery trust files (the index) that were never flushed.
  replaceFileSync(io, parts.abortPath, Buffer.from(String(process.pid), 'utf8'));
  parts.tombstones.load();

  const cqDirMissing = !io.existsSync(queues.rootDir);
  const indexDirMissing = !io.existsSync(index.dir);
  commitLog.load();
  const clMin = commitLog.minOffset;

  const tailBytesCut = cqDirMissing ? 0 : queues.loadFromDisk();
  io.mkdirSync(queues.rootDir, { recursive: true });

  const data = cp.data;
  const trusted = !abnormal && data !== null;
  const indexLoad = index.load(trusted && !indexDirMissing, data?.indexFlushedOffset ?? -1);

  const verifyFrom = data ? data.commitLogFlushedOffset : clMin;
  const cqFrom = cqDirMissing || !data ? clMin : data.consumeQueueFlushedOffset;
  let indexFrom: number;
  if (indexDirMissing || !data) indexFrom = clMin;
  else if (indexLoad.resumeFrom === null) indexFrom = data.indexFlushedOffset;
  else indexFrom = indexLoad.resumeFrom < 0 ? clMin : indexLoad.resumeFrom;
  const scanFrom = Math.max(clMin, Math.min(verifyFrom, cqFrom, indexFrom));

  const crcMarker = loadRecordCrcMarker(io, parts.recordCrcPath);
  const emptyLog = commitLog.diskUsedBytes === 0;
  // No marker: a new store requires the CRC everywhere; an older store from its end on (below).
  commitLog.recordCrcRequiredFrom = crcMarker ?? (emptyLog ? 0 : Number.POSITIVE_INFINITY);

  const counts: RecoveryCounts = { added: 0, repaired: 0, holes: 0 };
  const clReport = commitLog.recover({
    from: scanFrom,
    checkCRC: parts.checkCRC,
    onRecord: (info) => dispatcher.dispatchRecovered(info, info.physicalOffset >= cqFrom, counts),
  });
  const end = clReport.endOffset;
  if (crcMarker === null) {
    commitLog.recordCrcRequiredFrom = emptyLog ? 0 : end;
    saveRecordCrcMarker(io, parts.recordCrcPath, commitLog.recordCrcRequiredFrom);
  }

  let dirtyEntriesDropped = 0;
  for (const cq of queues.all()) {
    const error = cq.commit();
    if (error) throw error;
    dirtyEntriesDropped += cq.truncateDirty(end);
  }
  queues.resetNextOffsetsToMax();

  const report: RecoveryReport = {
    abnormalShutdown: abnormal,
    checkpoint: data ? 'valid' : (cp.problem ?? 'invalid'),
    commitLog: { ...clReport, minOffset: commitLog.minOffset, maxOffset: commitLog.maxOffset },
    consumeQueues: {
      queues: queues.size,
      tailBytesCut,
      dirtyEntriesDropped,
      rebuiltFrom: Math.max(cqFrom, clReport.scannedFrom),
      fullRebuild: cqFrom <= clMin && end > clMin,
      entriesAdded: counts.added,
      entriesRepaired: counts.repaired,
      holes: counts.holes,
    },
    index: {
      files: index.fileCount,
      deletedFiles: indexLoad.deletedFiles,
      rebuiltFrom: Math.max(indexFrom, clReport.scannedFrom),
      fullRebuild: indexFrom <= clMin && end > clMin,
    },
    durationMs: 0,
  };
  return { report, endOffset: end, lastStoreTimestamp: data?.physicMsgTimestamp ?? 0 };
}

