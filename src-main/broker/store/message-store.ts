/**
 * MessageStore: the facade the broker uses. Upstream: `store/.../DefaultMessageStore.java`
 * (putMessage, getMessage, load/recover, ReputMessageService, FlushConsumeQueueService),
 * `CommitLog.GroupCommitService` (SYNC flush) and `CommitLog.FlushRealTimeService` (ASYNC).
 *
 * Life cycle: open() = load → recover → serve; close() = write, dispatch, fsync, checkpoint.
 *
 * Put path, per event-loop turn: every put encodes its record into the commitlog's pending buffer
 * and gets its queue offset at once (in call order); one setImmediate "tick" then writes all of
 * them with one write, dispatches them to consume queues and the index (the reput step, from the
 * metadata of the records just written), tells arrival listeners, and settles the puts: ASYNC
 * after the write (page cache survives a process crash), SYNC after the group-commit fsync that
 * covers them. A failed write is cut back and fails exactly the puts it held.
 *
 * Every record carries a whole-record CRC (the `__CRC32#` trailer, see message-codec.ts), so a
 * flipped bit in a header field, host, topic or property is caught, not only in the body.
 *
 * Recovery: the `abort` file (made durable first) marks an unclean stop. The commitlog is verified
 * from the checkpoint on (layout, offset, whole-record and body CRC); a damaged record with valid
 * records after it is quarantined (kept on disk, offsets never move, never served) and reported, a
 * torn tail is cut. Consume queues and the index are rebuilt by dispatching the same records
 * (idempotently) from where each is known durable; deleting `consumequeue/` or `index/` (or the
 * checkpoint) forces a full rebuild. `RecoveryReport` says what was cut, quarantined and rebuilt.
 *
 * Reads (pull, view by offset, query by key) verify every record they return: layout, offset
 * field, whole-record CRC, and that it is the record its consume-queue entry names. A damaged one
 * (bit rot below the checkpoint, which recovery does not re-read) is skipped, logged and listed
 * by `corruptionReport()`. Cost: one CRC pass, ≈ 0.5 µs per 1 KiB record.
 *
 * All file access goes through a FileIO (`config.fileIO`), so tests can run the store on CrashFS.
 */
import path from 'node:path';
import { createLogger } from '../../remoting/logger.js';
import { StoreCheckpoint, type CheckpointData } from './checkpoint.js';
import { CommitLog, type CommitLogFileOps, type CommitLogRecovery } from './commit-log.js';
import { ConsumeQueue, DEFAULT_CONSUME_QUEUE_ENTRIES_PER_FILE, FileDescriptorCache } from './consume-queue.js';
import { IndexService } from './index-file.js';
import { nodeFileIO, writeFullySync, type FileIO } from './io/file-io.js';
import {
  MAX_PROPERTIES_LENGTH,
  MAX_TOPIC_LENGTH_V1,
  BLANK_MAGIC_CODE,
  END_FILE_MIN_BLANK_LENGTH,
  MESSAGE_MAGIC_CODE_V1,
  MESSAGE_MAGIC_CODE_V2,
  MessageSysFlag,
  POS_MAGIC,
  POS_PHYSICAL_OFFSET,
  POS_QUEUE_ID,
  POS_QUEUE_OFFSET,
  recordTopic,
  PROPERTY_KEYS,
  PROPERTY_TAGS,
  PROPERTY_UNIQ_KEY,
  PROPERTY_CRC32,
  bodyCrc32,
  recordCrcExtraLength,
  verifyStoredRecord,
  checkStoredRecord,
  encodeHost,
  encodeProperties,
  messageIdPrefix,
  offsetHex,
  readInt64,
  storedMessageSize,
  tagsString2tagsCode,
  transactionType,
  type RecordInfo,
} from './message-codec.js';

const log = createLogger('store');

export interface MessageStoreConfig {
  storeDir: string;
  /** Bytes per commitlog file (RocketMQ mappedFileSizeCommitLog, 1 GiB). */
  commitLogSegmentSize?: number;
  /** Entries per consume-queue file (RocketMQ mappedFileSizeConsumeQueue / 20 = 300 000). */
  consumeQueueEntriesPerFile?: number;
  flushMode?: 'ASYNC' | 'SYNC';
  /** ASYNC fsync period, and the cadence of consume-queue/index flushes and checkpoints (500 ms). */
  flushIntervalMs?: number;
  /** Largest body accepted (RocketMQ maxMessageSize, 4 MiB). */
  maxMessageSize?: number;
  /** This broker's address as written into records and offset msgIds ("127.0.0.1:10911"). */
  storeHost: string;
  indexSlotNum?: number;
  indexMaxEntries?: number;
  /** SYNC: puts not covered by an fsync after this long answer FLUSH_DISK_TIMEOUT (syncFlushTimeout, 5 s). */
  syncFlushTimeoutMs?: number;
  /** Verify body CRCs during recovery (checkCRCOnRecover, true). */
  checkCRCOnRecover?: boolean;
  /**
   * Tag code for a record, used both at put time (when the put has no `tagsCode`) and when
   * consume queues are rebuilt from the commitlog; undefined falls back to hash(TAGS). Use it
   * for codes derived from the record, e.g. SCHEDULE_TOPIC_XXXX delivery time =
   * storeTimestamp + delay of level DELAY (CommitLog#checkMessageAndReturnSize does this).
   */
  tagsCodeResolver?: (topic: string, properties: Record<string, string>, storeTimestamp: number) => number | undefined;
  /** Fault injection for tests (ENOSPC on write, EIO on fsync). */
  commitLogFileOps?: CommitLogFileOps;
  /** The file layer under the whole store (CrashFS in power-failure tests); default Node's fs. */
  fileIO?: FileIO;
}

export interface MessageToStore {
  topic: string;
  queueId: number;
  flag: number;
  body: Buffer;
  properties: Record<string, string>;
  sysFlag: number;
  bornTimestamp: number;
  bornHost: string;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  /** Overrides the tag code (e.g. delay delivery time); else tagsCodeResolver / hash of TAGS. */
  tagsCode?: number;
}

export type PutMessageStatus =
  | 'PUT_OK'
  | 'FLUSH_DISK_TIMEOUT'
  | 'MESSAGE_ILLEGAL'
  | 'PROPERTIES_SIZE_EXCEEDED'
  | 'SERVICE_NOT_AVAILABLE'
  | 'UNKNOWN_ERROR';

export interface PutMessageResult {
  status: PutMessageStatus;
  /** Offset msgId; for a batch, the ids joined with ','. */
  msgId?: string;
  queueOffset?: number;
  physicalOffset?: number;
  storeTimestamp?: number;
  wroteBytes?: number;
  error?: string;
  msgIds?: string[];
}

export type GetMessageStatus =
  | 'FOUND'
  | 'NO_MATCHED_MESSAGE'
  | 'OFFSET_FOUND_NULL'
  | 'OFFSET_OVERFLOW_ONE'
  | 'OFFSET_OVERFLOW_BADLY'
  | 'OFFSET_TOO_SMALL'
  | 'NO_MESSAGE_IN_QUEUE'
  | 'NO_MATCHED_LOGIC_QUEUE'
  | 'MESSAGE_WAS_REMOVING';

export interface GetMessageResult {
  status: GetMessageStatus;
  /** Raw stored records, one per message, in queue order. */
  messages: Buffer[];
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
}

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

export interface StoreStats {
  commitLogMinOffset: number;
  commitLogMaxOffset: number;
  /** Messages put since open. */
  messageCount: number;
  diskUsedBytes: number;
  dispatchBehindBytes: number;
  /** Damaged records reads have skipped since open (never served). */
  corruptRecordsSkipped: number;
}

/** A damaged record a read ran into and skipped (it is never served). */
export interface CorruptRead {
  offset: number;
  /** Bytes the pointer (consume-queue entry) claimed, or -1 for a read by offset. */
  size: number;
  reason: string;
  /** Who pointed at it (a pull), when known. */
  topic?: string;
  queueId?: number;
  queueOffset?: number;
  firstSeen: number;
  count: number;
}

/** Everything known damaged: what recovery quarantined or cut, and what reads found since. */
export interface CorruptionReport {
  recovery: { truncated?: CommitLogRecovery['truncated']; quarantined: CommitLogRecovery['corruptRanges'] } | null;
  reads: CorruptRead[];
  readsTotal: number;
}

export type MessageArrivedListener = (topic: string, queueId: number, queueOffset: number, tagsCode: number) => void;

/** What the dispatcher needs from one stored record (RocketMQ DispatchRequest). */
interface DispatchRequest {
  topic: string;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  size: number;
  tagsCode: number;
  storeTimestamp: number;
  sysFlag: number;
  keys: string | undefined;
  uniqKey: string | undefined;
}

/** One record appended and not yet settled. */
interface PendingRecord extends DispatchRequest {
  put: PendingPut;
}

interface PendingPut {
  resolve: (r: PutMessageResult) => void;
  result: PutMessageResult;
  endOffset: number;
  waitFlush: boolean;
  failed?: PutMessageResult;
  enqueuedAt: number;
}

interface RecoveryCounts {
  added: number;
  repaired: number;
  holes: number;
}

interface PreparedMessage {
  msg: MessageToStore;
  topicBytes: Buffer;
  properties: string;
  bornHostBytes: Buffer;
  size: number;
}

type StoreState = 'NEW' | 'OPENING' | 'OPEN' | 'CLOSING' | 'CLOSED';

const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
const DEFAULT_MAX_TRANSFER_BYTES = 256 * 1024;
/** getMessage scans at most this many consume-queue entries per call (maxFilterMessageCount = 16000 bytes / 20). */
const MAX_SCAN_ENTRIES = 800;
/** Write pending bytes early when a burst grows this big. */
const PENDING_WRITE_THRESHOLD = 4 * 1024 * 1024;
const TOMBSTONES_FILE = 'topic-tombstones.json';
/** Says from which commitlog offset every record carries the whole-record CRC (see loadRecordCrcMarker). */
const RECORD_CRC_FILE = 'record-crc.json';
/** Damaged records found by reads that are remembered for the report (the counter keeps counting). */
const MAX_CORRUPT_READS_KEPT = 1000;

function errorStatus(e: unknown): PutMessageResult {
  const err = e as NodeJS.ErrnoException;
  const text = err?.message ?? String(e);
  if (err?.code === 'ENOSPC' || err?.code === 'EDQUOT') return { status: 'SERVICE_NOT_AVAILABLE', error: `disk full: ${text}` };
  return { status: 'UNKNOWN_ERROR', error: text };
}

function topicProblem(topic: unknown): string | null {
  if (typeof topic !== 'string' || topic.length === 0) return 'topic is empty';
  if (topic === '.' || topic === '..' || /[/\\\u0000]/.test(topic)) return `topic ${JSON.stringify(topic)} is not a valid file name`;
  if (process.platform === 'win32' && /[<>:"|?*]/.test(topic)) return `topic ${JSON.stringify(topic)} is not a valid Windows file name`;
  return null;
}

export class MessageStore {
  private readonly config: Required<Omit<MessageStoreConfig, 'tagsCodeResolver' | 'commitLogFileOps' | 'fileIO'>> &
    Pick<MessageStoreConfig, 'tagsCodeResolver' | 'commitLogFileOps'>;
  private readonly io: FileIO;
  private readonly commitLog: CommitLog;
  private readonly cqRoot: string;
  private readonly fds: FileDescriptorCache;
  private readonly queues = new Map<string, Map<number, ConsumeQueue>>();
  /** Next queue offset per topic/queue (CommitLog.topicQueueTable). */
  private readonly queueOffsets = new Map<string, Map<number, number>>();
  private readonly index: IndexService;
  private readonly checkpoint: StoreCheckpoint;
  private readonly abortPath: string;
  private readonly tombstonesPath: string;
  private readonly recordCrcPath: string;
  /** What the last open found and did. */
  private lastRecovery: RecoveryReport | null = null;
  /** Damaged records reads ran into (pull, view, query), by commitlog offset. */
  private readonly corruptReads = new Map<number, CorruptRead>();
  private corruptReadCount = 0;
  /** topic → commitlog offset when it was deleted: older records of it are never dispatched again. */
  private tombstones = new Map<string, number>();
  private readonly storeHostBytes: Buffer;
  private readonly msgIdPrefix: string;
  private readonly topicBytes = new Map<string, Buffer>();
  private readonly listeners: MessageArrivedListener[] = [];

  private state: StoreState = 'NEW';
  private unwritten: PendingRecord[] = [];
  private undispatched: PendingRecord[] = [];
  private unsettled: PendingPut[] = [];
  private tickScheduled = false;
  private syncWaiters: PendingPut[] = [];
  private groupCommitInFlight = false;
  private syncWatchdog: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private periodicFlushRunning: Promise<void> | null = null;
  /** All records below this offset are dispatched. */
  private dispatchedOffset = 0;
  private lastStoreTimestamp = 0;
  private lastCheckpoint: CheckpointData | null = null;
  /** Offsets the derived files are durable to, measured before their fsyncs start. */
  private derivedFlushed = { consumeQueue: 0, index: 0 };
  private messageCount = 0;
  private readonly dirtyQueues = new Set<ConsumeQueue>();
  /** HA: a slave's log grows only by replication (appendReplicated); puts are refused. */
  private replicaMode = false;

  constructor(config: MessageStoreConfig) {
    this.config = {
      storeDir: config.storeDir,
      commitLogSegmentSize: config.commitLogSegmentSize ?? 1024 * 1024 * 1024,
      consumeQueueEntriesPerFile: config.consumeQueueEntriesPerFile ?? DEFAULT_CONSUME_QUEUE_ENTRIES_PER_FILE,
      flushMode: config.flushMode ?? 'ASYNC',
      flushIntervalMs: config.flushIntervalMs ?? 500,
      maxMessageSize: config.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      storeHost: config.storeHost,
      indexSlotNum: config.indexSlotNum ?? 100_000,
      indexMaxEntries: config.indexMaxEntries ?? 400_000,
      syncFlushTimeoutMs: config.syncFlushTimeoutMs ?? 5000,
      checkCRCOnRecover: config.checkCRCOnRecover ?? true,
      tagsCodeResolver: config.tagsCodeResolver,
      commitLogFileOps: config.commitLogFileOps,
    };
    const dir = this.config.storeDir;
    this.io = config.fileIO ?? nodeFileIO;
    this.fds = new FileDescriptorCache(128, this.io);
    this.commitLog = new CommitLog({ dir: path.join(dir, 'commitlog'), segmentSize: this.config.commitLogSegmentSize, fileOps: config.commitLogFileOps, io: this.io });
    this.recordCrcPath = path.join(dir, RECORD_CRC_FILE);
    this.cqRoot = path.join(dir, 'consumequeue');
    this.index = new IndexService({ dir: path.join(dir, 'index'), slotNum: this.config.indexSlotNum, maxEntries: this.config.indexMaxEntries, io: this.io });
    this.checkpoint = new StoreCheckpoint(path.join(dir, 'checkpoint'), this.io);
    this.abortPath = path.join(dir, 'abort');
    this.tombstonesPath = path.join(dir, TOMBSTONES_FILE);
    this.storeHostBytes = encodeHost(this.config.storeHost);
    this.msgIdPrefix = messageIdPrefix(this.config.storeHost);
  }

  // ===========================================================================================
  // Life cycle

  /** Loads and recovers (DefaultMessageStore#load + #recover); see the file comment. */
  async open(): Promise<RecoveryReport> {
    if (this.state !== 'NEW') throw new Error(`store is ${this.state}`);
    this.state = 'OPENING';
    const started = Date.now();
    try {
      const report = this.loadAndRecover();
      await this.flushDerived();
      this.writeCheckpointSync();
      report.durationMs = Date.now() - started;
      this.lastRecovery = report;
      this.state = 'OPEN';
      this.flushTimer = setInterval(() => void this.periodicFlush(), this.config.flushIntervalMs);
      this.flushTimer.unref();
      if (report.commitLog.truncated || report.commitLog.corruptRanges.length > 0) {
        log.warn(`recovery: ${JSON.stringify({ truncated: report.commitLog.truncated, corrupt: report.commitLog.corruptRanges })}`);
      }
      return report;
    } catch (e) {
      this.state = 'CLOSED';
      this.fds.closeAll();
      await this.commitLog.close().catch(() => undefined);
      throw e;
    }
  }

  private loadAndRecover(): RecoveryReport {
    const dir = this.config.storeDir;
    this.io.mkdirSync(dir, { recursive: true });
    const abnormal = this.io.existsSync(this.abortPath);
    const cp = this.checkpoint.load();
    // Durable before anything else is written: after a power failure its absence would make
    // recovery trust files (the index) that were never flushed.
    this.writeFileDurably(`${this.abortPath}.tmp`, this.abortPath, String(process.pid));
    this.loadTombstones();

    const cqDirMissing = !this.io.existsSync(this.cqRoot);
    const indexDirMissing = !this.io.existsSync(this.index.dir);
    this.commitLog.load();
    const clMin = this.commitLog.minOffset;

    let tailBytesCut = 0;
    if (!cqDirMissing) {
      for (const topic of this.io.readdirSync(this.cqRoot)) {
        const topicDir = path.join(this.cqRoot, topic);
        if (!this.io.statSync(topicDir).isDirectory()) continue;
        for (const q of this.io.readdirSync(topicDir)) {
          if (!/^\d+$/.test(q)) continue;
          const cq = this.getOrCreateQueue(topic, Number(q));
          tailBytesCut += cq.load().truncatedBytes;
        }
      }
    }
    this.io.mkdirSync(this.cqRoot, { recursive: true });

    const data = cp.data;
    const trusted = !abnormal && data !== null;
    const indexLoad = this.index.load(trusted && !indexDirMissing, data?.indexFlushedOffset ?? -1);

    const verifyFrom = data ? data.commitLogFlushedOffset : clMin;
    const cqFrom = cqDirMissing || !data ? clMin : data.consumeQueueFlushedOffset;
    let indexFrom: number;
    if (indexDirMissing || !data) indexFrom = clMin;
    else if (indexLoad.resumeFrom === null) indexFrom = data.indexFlushedOffset;
    else indexFrom = indexLoad.resumeFrom < 0 ? clMin : indexLoad.resumeFrom;
    const scanFrom = Math.max(clMin, Math.min(verifyFrom, cqFrom, indexFrom));

    const crcMarker = this.loadRecordCrcMarker();
    const emptyLog = this.commitLog.diskUsedBytes === 0;
    // No marker: a new store requires the CRC everywhere; an older store from its end on (below).
    this.commitLog.recordCrcRequiredFrom = crcMarker ?? (emptyLog ? 0 : Number.POSITIVE_INFINITY);

    const counts: RecoveryCounts = { added: 0, repaired: 0, holes: 0 };
    const clReport = this.commitLog.recover({
      from: scanFrom,
      checkCRC: this.config.checkCRCOnRecover,
      onRecord: (info) => this.dispatchRecovered(info, info.physicalOffset >= cqFrom, counts),
    });
    const end = clReport.endOffset;
    if (crcMarker === null) {
      this.commitLog.recordCrcRequiredFrom = emptyLog ? 0 : end;
      this.saveRecordCrcMarker(this.commitLog.recordCrcRequiredFrom);
    }

    let dirtyEntriesDropped = 0;
    for (const byQueue of this.queues.values()) {
      for (const cq of byQueue.values()) {
        const error = cq.commit();
        if (error) throw error;
        dirtyEntriesDropped += cq.truncateDirty(end);
      }
    }
    for (const [topic, byQueue] of this.queues) {
      for (const [queueId, cq] of byQueue) this.setNextQueueOffset(topic, queueId, cq.maxOffset);
    }
    this.dispatchedOffset = end;
    this.lastStoreTimestamp = data?.physicMsgTimestamp ?? 0;

    return {
      abnormalShutdown: abnormal,
      checkpoint: data ? 'valid' : (cp.problem ?? 'invalid'),
      commitLog: { ...clReport, minOffset: this.commitLog.minOffset, maxOffset: this.commitLog.maxOffset },
      consumeQueues: {
        queues: [...this.queues.values()].reduce((n, m) => n + m.size, 0),
        tailBytesCut,
        dirtyEntriesDropped,
        rebuiltFrom: Math.max(cqFrom, clReport.scannedFrom),
        fullRebuild: cqFrom <= clMin && end > clMin,
        entriesAdded: counts.added,
        entriesRepaired: counts.repaired,
        holes: counts.holes,
      },
      index: {
        files: this.index.fileCount,
        deletedFiles: indexLoad.deletedFiles,
        rebuiltFrom: Math.max(indexFrom, clReport.scannedFrom),
        fullRebuild: indexFrom <= clMin && end > clMin,
      },
      durationMs: 0,
    };
  }

  /** Flushes everything, writes the checkpoint and releases files. Pending puts settle first. */
  async close(): Promise<void> {
    if (this.state !== 'OPEN') return;
    this.state = 'CLOSING';
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    let clean = true;
    try {
      this.tick();
      await this.periodicFlushRunning;
      await this.commitLog.flush();
      this.settleSyncWaiters();
      await this.flushDerived();
      this.index.flushSync();
      await this.checkpoint.settle(); // a flush() in flight shares the temp file
      this.writeCheckpointSync();
    } catch (e) {
      clean = false;
      log.error(`close: ${(e as Error).message}; the next open will recover`);
      this.settleSyncWaiters(e as Error);
    }
    if (this.syncWatchdog) clearTimeout(this.syncWatchdog);
    await this.commitLog.close().catch(() => undefined);
    this.fds.closeAll();
    if (clean) this.io.rmSync(this.abortPath, { force: true });
    this.state = 'CLOSED';
  }

  /** Writes what is pending and fsyncs commitlog, consume queues and index; then checkpoints. */
  async flush(): Promise<void> {
    if (this.state !== 'OPEN') return;
    this.tick();
    await this.commitLog.flush();
    this.settleSyncWaiters();
    await this.flushDerived();
    await this.checkpoint.write(this.checkpointData());
  }

  // ===========================================================================================
  // Put

  putMessage(msg: MessageToStore): Promise<PutMessageResult> {
    const refused = this.refusal();
    if (refused) return Promise.resolve(refused);
    try {
      const prepared = this.prepare(msg);
      if ('status' in prepared) return Promise.resolve(prepared);
      const noRoom = this.makeRoom(prepared.size);
      if (noRoom) return Promise.resolve(noRoom);
      return new Promise<PutMessageResult>((resolve) => {
        const put = this.newPut(resolve, msg.properties);
        const storeTimestamp = Date.now();
        let rec: PendingRecord;
        try {
          rec = this.appendPrepared(prepared, storeTimestamp, put);
        } catch (e) {
          put.failed = errorStatus(e);
          resolve(put.failed);
          return;
        }
        put.result = {
          status: 'PUT_OK',
          msgId: this.msgIdPrefix + offsetHex(rec.physicalOffset),
          queueOffset: rec.queueOffset,
          physicalOffset: rec.physicalOffset,
          storeTimestamp,
          wroteBytes: rec.size,
        };
        put.endOffset = rec.physicalOffset + rec.size;
        this.scheduleTick();
      });
    } catch (e) {
      log.error(`putMessage: ${(e as Error).stack ?? String(e)}`);
      return Promise.resolve(errorStatus(e));
    }
  }

  /** A batch: stored contiguously in one segment, consecutive queue offsets, all-or-nothing. */
  putMessages(msgs: MessageToStore[]): Promise<PutMessageResult> {
    const refused = this.refusal();
    if (refused) return Promise.resolve(refused);
    if (msgs.length === 0) return Promise.resolve({ status: 'MESSAGE_ILLEGAL', error: 'empty batch' });
    try {
      const prepared: PreparedMessage[] = [];
      let total = 0;
      for (const m of msgs) {
        const p = this.prepare(m);
        if ('status' in p) return Promise.resolve(p);
        prepared.push(p);
        total += p.size;
      }
      const noRoom = this.makeRoom(total);
      if (noRoom) return Promise.resolve(noRoom);
      return new Promise<PutMessageResult>((resolve) => {
        const put = this.newPut(resolve, (msgs[0] as MessageToStore).properties);
        const storeTimestamp = Date.now();
        const msgIds: string[] = [];
        let first: PendingRecord | undefined;
        let last: PendingRecord | undefined;
        try {
          for (const p of prepared) {
            const rec = this.appendPrepared(p, storeTimestamp, put);
            first ??= rec;
            last = rec;
            msgIds.push(this.msgIdPrefix + offsetHex(rec.physicalOffset));
          }
        } catch (e) {
          put.failed = errorStatus(e);
          resolve(put.failed);
          return;
        }
        put.result = {
          status: 'PUT_OK',
          msgId: msgIds.join(','),
          msgIds,
          queueOffset: first?.queueOffset,
          physicalOffset: first?.physicalOffset,
          storeTimestamp,
          wroteBytes: total,
        };
        put.endOffset = last ? last.physicalOffset + last.size : 0;
        this.scheduleTick();
      });
    } catch (e) {
      log.error(`putMessages: ${(e as Error).stack ?? String(e)}`);
      return Promise.resolve(errorStatus(e));
    }
  }

  private refusal(): PutMessageResult | null {
    if (this.state !== 'OPEN') return { status: 'SERVICE_NOT_AVAILABLE', error: `message store is ${this.state.toLowerCase()}` };
    if (this.replicaMode) return { status: 'SERVICE_NOT_AVAILABLE', error: 'the store is a replica (slave): it only appends what its master sends' };
    const failure = this.commitLog.failure;
    if (failure) return { status: 'SERVICE_NOT_AVAILABLE', error: `message store is read-only: ${failure.message}` };
    return null;
  }

  /** Size and name checks (DefaultMessageStore#checkMessage, CommitLog encoder limits). */
  private prepare(msg: MessageToStore): PreparedMessage | PutMessageResult {
    const problem = topicProblem(msg.topic);
    if (problem) return { status: 'MESSAGE_ILLEGAL', error: problem };
    let topicBytes = this.topicBytes.get(msg.topic);
    if (!topicBytes) {
      topicBytes = Buffer.from(msg.topic, 'utf8');
      if (this.topicBytes.size >= 10_000) this.topicBytes.clear();
      this.topicBytes.set(msg.topic, topicBytes);
    }
    if (topicBytes.length > MAX_TOPIC_LENGTH_V1) return { status: 'MESSAGE_ILLEGAL', error: `topic longer than ${MAX_TOPIC_LENGTH_V1} bytes` };
    if (!Number.isInteger(msg.queueId) || msg.queueId < 0 || msg.queueId > 0x7fffffff) {
      return { status: 'MESSAGE_ILLEGAL', error: `bad queueId ${msg.queueId}` };
    }
    if (!Buffer.isBuffer(msg.body)) return { status: 'MESSAGE_ILLEGAL', error: 'body is not a buffer' };
    if (msg.body.length > this.config.maxMessageSize) {
      return { status: 'MESSAGE_ILLEGAL', error: `body of ${msg.body.length} bytes exceeds maxMessageSize ${this.config.maxMessageSize}` };
    }
    let props = msg.properties ?? {};
    if (props[PROPERTY_CRC32] !== undefined) {
      // A message re-put from a stored one (retry, delay, transaction) brings its old trailer: the store writes its own.
      props = { ...props };
      delete props[PROPERTY_CRC32];
    }
    const properties = encodeProperties(props);
    const propertiesLength = (properties.length === 0 ? 0 : Buffer.byteLength(properties, 'utf8')) + recordCrcExtraLength(properties);
    if (propertiesLength > MAX_PROPERTIES_LENGTH) {
      return { status: 'PROPERTIES_SIZE_EXCEEDED', error: `properties of ${propertiesLength} bytes exceed ${MAX_PROPERTIES_LENGTH}` };
    }
    const bornHostBytes = encodeHost(String(msg.bornHost ?? ''));
    const size = storedMessageSize(msg.body.length, topicBytes.length, propertiesLength, bornHostBytes.length, this.storeHostBytes.length);
    return { msg, topicBytes, properties, bornHostBytes, size };
  }

  /** Rolls to the next segment when `size` does not fit; an error result if it cannot. */
  private makeRoom(size: number): PutMessageResult | null {
    if (this.commitLog.pendingBytes >= PENDING_WRITE_THRESHOLD) this.writePending();
    const room = this.commitLog.roomFor(size);
    if (room === 'OK') return null;
    if (room === 'TOO_LARGE') {
      return { status: 'MESSAGE_ILLEGAL', error: `record of ${size} bytes does not fit a commitlog segment of ${this.commitLog.segmentSize}` };
    }
    // Records of this segment are written before its blank.
    this.writePending();
    const error = this.commitLog.rollSegment();
    if (error) return errorStatus(error);
    return this.commitLog.roomFor(size) === 'OK' ? null : { status: 'UNKNOWN_ERROR', error: 'no room after rolling the commitlog' };
  }

  private newPut(resolve: (r: PutMessageResult) => void, properties: Record<string, string> | undefined): PendingPut {
    const put: PendingPut = {
      resolve,
      result: { status: 'PUT_OK' },
      endOffset: 0,
      // WAIT=false (waitStoreMsgOK) answers before the fsync, as RocketMQ does.
      waitFlush: this.config.flushMode === 'SYNC' && properties?.WAIT !== 'false',
      enqueuedAt: Date.now(),
    };
    this.unsettled.push(put);
    return put;
  }

  private appendPrepared(p: PreparedMessage, storeTimestamp: number, put: PendingPut): PendingRecord {
    const m = p.msg;
    const toQueue = takesQueueSlot(m.sysFlag);
    const queueOffset = toQueue ? this.nextQueueOffset(m.topic, m.queueId) : 0;
    const physicalOffset = this.commitLog.append(
      {
        topicBytes: p.topicBytes,
        queueId: m.queueId,
        flag: m.flag,
        body: m.body,
        properties: p.properties,
        sysFlag: m.sysFlag,
        bornTimestamp: m.bornTimestamp,
        bornHostBytes: p.bornHostBytes,
        storeTimestamp,
        storeHostBytes: this.storeHostBytes,
        reconsumeTimes: m.reconsumeTimes,
        preparedTransactionOffset: m.preparedTransactionOffset,
        queueOffset,
        bodyCRC: bodyCrc32(m.body),
        recordCrc: true,
      },
      p.size,
    );
    if (toQueue) this.setNextQueueOffset(m.topic, m.queueId, queueOffset + 1);
    const props = m.properties ?? {};
    const rec: PendingRecord = {
      topic: m.topic,
      queueId: m.queueId,
      queueOffset,
      physicalOffset,
      size: p.size,
      tagsCode: m.tagsCode ?? this.tagsCodeOf(m.topic, props, storeTimestamp),
      storeTimestamp,
      keys: props[PROPERTY_KEYS],
      uniqKey: props[PROPERTY_UNIQ_KEY],
      sysFlag: m.sysFlag,
      put,
    };
    this.unwritten.push(rec);
    this.messageCount++;
    return rec;
  }

  private tagsCodeOf(topic: string, properties: Record<string, string>, storeTimestamp: number): number {
    const resolved = this.config.tagsCodeResolver?.(topic, properties, storeTimestamp);
    return resolved ?? tagsString2tagsCode(properties[PROPERTY_TAGS]);
  }

  private scheduleTick(): void {
    if (this.tickScheduled) return;
    this.tickScheduled = true;
    setImmediate(() => this.tick());
  }

  /** Writes the pending records; on failure fails their puts and gives back their queue offsets. */
  private writePending(): void {
    if (this.unwritten.length === 0 && this.commitLog.pendingBytes === 0) return;
    const outcome = this.commitLog.writePending();
    const records = this.unwritten;
    this.unwritten = [];
    if (outcome.ok) {
      for (const r of records) this.undispatched.push(r);
      if (records.length > 0) this.lastStoreTimestamp = (records[records.length - 1] as PendingRecord).storeTimestamp;
      return;
    }
    log.error(`commitlog write of [${outcome.droppedFrom}, ${outcome.droppedTo}) failed: ${outcome.error.message}`);
    const failure = errorStatus(outcome.error);
    for (let i = records.length - 1; i >= 0; i--) {
      const r = records[i] as PendingRecord;
      if (takesQueueSlot(r.sysFlag)) this.setNextQueueOffset(r.topic, r.queueId, r.queueOffset);
      r.put.failed = failure;
      this.messageCount--;
    }
  }

  /** One turn's work: write, dispatch, notify, settle. */
  private tick(): void {
    this.tickScheduled = false;
    if (this.state === 'CLOSED') return; // abandoned (in-process kill): nothing more reaches the disk
    try {
      this.writePending();
      this.dispatchWritten();
    } catch (e) {
      // Dispatch problems never fail stored messages; recovery rebuilds what is missing.
      log.error(`dispatch: ${(e as Error).stack ?? String(e)}`);
    }
    const puts = this.unsettled;
    this.unsettled = [];
    let needCommit = false;
    for (const put of puts) {
      if (put.failed) put.resolve(put.failed);
      else if (put.waitFlush) {
        this.syncWaiters.push(put);
        needCommit = true;
      } else put.resolve(put.result);
    }
    if (needCommit) this.groupCommit();
  }

  private dispatchWritten(): void {
    const records = this.undispatched;
    if (records.length === 0) {
      this.dispatchedOffset = this.commitLog.writtenOffset;
      return;
    }
    this.undispatched = [];
    const arrived: PendingRecord[] = [];
    for (const r of records) {
      try {
        const cq = this.dispatch(r, false);
        if (cq) {
          this.dirtyQueues.add(cq);
          arrived.push(r);
        }
      } catch (e) {
        // The record is stored; the next recovery re-dispatches it.
        log.error(`dispatch of ${r.topic}/${r.queueId}@${r.queueOffset} failed: ${(e as Error).message}`);
      }
    }
    for (const cq of this.dirtyQueues) {
      const error = cq.commit();
      if (error) log.error(`consume queue ${cq.topic}/${cq.queueId} write failed (kept in memory, retried): ${error.message}`);
    }
    this.dirtyQueues.clear();
    this.dispatchedOffset = this.commitLog.writtenOffset;
    if (this.listeners.length === 0) return;
    for (const r of arrived) {
      for (const listener of this.listeners) {
        try {
          listener(r.topic, r.queueId, r.queueOffset, r.tagsCode);
        } catch (e) {
          log.error(`message arrived listener: ${(e as Error).message}`);
        }
      }
    }
  }

  /** GroupCommitService: one fsync at a time covers every put written before it started. */
  private groupCommit(): void {
    if (this.groupCommitInFlight || this.syncWaiters.length === 0) return;
    this.groupCommitInFlight = true;
    this.armSyncWatchdog();
    this.commitLog.flush().then(
      () => this.settleSyncWaiters(),
      (e: Error) => this.settleSyncWaiters(e),
    ).finally(() => {
      this.groupCommitInFlight = false;
      if (this.syncWaiters.length > 0) this.groupCommit();
    });
  }

  /** Answers SYNC puts now covered by the flushed offset (or all, with the error, after a failed fsync). */
  private settleSyncWaiters(error?: Error): void {
    if (this.syncWaiters.length === 0) return;
    const flushed = this.commitLog.flushedOffset;
    const still: PendingPut[] = [];
    for (const put of this.syncWaiters) {
      if (error) put.resolve({ ...put.result, status: 'FLUSH_DISK_TIMEOUT', error: error.message });
      else if (put.endOffset <= flushed) put.resolve(put.result);
      else still.push(put);
    }
    this.syncWaiters = still;
  }

  private armSyncWatchdog(): void {
    if (this.syncWatchdog) return;
    const check = (): void => {
      this.syncWatchdog = null;
      const now = Date.now();
      const limit = this.config.syncFlushTimeoutMs;
      const still: PendingPut[] = [];
      for (const put of this.syncWaiters) {
        // The record stays written; only its durability is unconfirmed (an indeterminate send).
        if (now - put.enqueuedAt >= limit) put.resolve({ ...put.result, status: 'FLUSH_DISK_TIMEOUT' });
        else still.push(put);
      }
      this.syncWaiters = still;
      if (still.length > 0) {
        this.syncWatchdog = setTimeout(check, Math.min(limit, 1000));
        this.syncWatchdog.unref();
      }
    };
    this.syncWatchdog = setTimeout(check, Math.min(this.config.syncFlushTimeoutMs, 1000));
    this.syncWatchdog.unref();
  }

  // ===========================================================================================
  // Flushing and checkpoints

  private periodicFlush(): Promise<void> {
    if (this.periodicFlushRunning || this.state !== 'OPEN') return this.periodicFlushRunning ?? Promise.resolve();
    const run = async (): Promise<void> => {
      try {
        await this.commitLog.flush();
        this.settleSyncWaiters();
        await this.flushDerived();
        const data = this.checkpointData();
        const last = this.lastCheckpoint;
        if (
          !last ||
          last.commitLogFlushedOffset !== data.commitLogFlushedOffset ||
          last.consumeQueueFlushedOffset !== data.consumeQueueFlushedOffset ||
          last.indexFlushedOffset !== data.indexFlushedOffset
        ) {
          await this.checkpoint.write(data);
          this.lastCheckpoint = data;
        }
      } catch (e) {
        log.error(`flush: ${(e as Error).message}`);
      } finally {
        this.periodicFlushRunning = null;
      }
    };
    this.periodicFlushRunning = run();
    return this.periodicFlushRunning;
  }

  private async flushDerived(): Promise<void> {
    const target = this.dispatchedOffset;
    let allCommitted = true;
    const dirty: ConsumeQueue[] = [];
    for (const byQueue of this.queues.values()) {
      for (const cq of byQueue.values()) {
        if (cq.commit()) allCommitted = false;
        if (cq.isDirty) dirty.push(cq);
      }
    }
    // A few at a time: they share libuv's four threads with everything else.
    for (let i = 0; i < dirty.length; i += 4) {
      await Promise.all(dirty.slice(i, i + 4).map((cq) => cq.flush()));
    }
    if (allCommitted) this.derivedFlushed.consumeQueue = Math.max(this.derivedFlushed.consumeQueue, target);
    this.index.writeDirty();
    await this.index.fsync();
    this.derivedFlushed.index = Math.max(this.derivedFlushed.index, target);
  }

  private checkpointData(): CheckpointData {
    const cl = this.commitLog.flushedOffset;
    return {
      physicMsgTimestamp: this.lastStoreTimestamp,
      commitLogFlushedOffset: cl,
      consumeQueueFlushedOffset: Math.min(this.derivedFlushed.consumeQueue, cl),
      indexFlushedOffset: Math.min(this.derivedFlushed.index, cl),
      logicsMsgTimestamp: this.lastStoreTimestamp,
      indexMsgTimestamp: this.lastStoreTimestamp,
    };
  }

  private writeCheckpointSync(): void {
    if (this.state === 'OPENING') {
      const end = this.commitLog.maxOffset;
      this.derivedFlushed = { consumeQueue: end, index: end };
    }
    const data = this.checkpointData();
    this.checkpoint.writeSync(data);
    this.lastCheckpoint = data;
  }

  // ===========================================================================================
  // Dispatch (reput) shared with recovery

  /**
   * The dispatcher (ReputMessageService → CommitLogDispatcherBuildConsumeQueue + BuildIndex), for
   * records just written and for records read back by recovery alike. PREPARED/ROLLBACK records
   * get no queue entry; ROLLBACK records are not indexed. Idempotent: entries and keys already
   * present are skipped. Returns the consume queue that got an entry, if any.
   */
  private dispatch(r: DispatchRequest, verifyQueue: boolean, counts?: RecoveryCounts): ConsumeQueue | null {
    if (this.isTombstoned(r.topic, r.physicalOffset)) return null;
    let cq: ConsumeQueue | null = null;
    if (takesQueueSlot(r.sysFlag)) {
      cq = this.getOrCreateQueue(r.topic, r.queueId);
      const before = cq.maxOffset;
      const outcome = cq.put(r.queueOffset, r.physicalOffset, r.size, r.tagsCode, verifyQueue);
      if (counts) {
        if (outcome === 'APPENDED') counts.added++;
        else if (outcome === 'REPAIRED') counts.repaired++;
        else if (outcome === 'GAP') {
          counts.added++;
          counts.holes += r.queueOffset - before;
        }
      }
    }
    if (transactionType(r.sysFlag) !== MessageSysFlag.TRANSACTION_ROLLBACK_TYPE) {
      this.index.buildIndex(r.topic, r.uniqKey, r.keys, r.physicalOffset, r.storeTimestamp);
    }
    return cq;
  }

  private dispatchRecovered(info: RecordInfo, verifyQueue: boolean, counts: RecoveryCounts): void {
    const p = info.properties;
    this.dispatch(
      {
        topic: info.topic,
        queueId: info.queueId,
        queueOffset: info.queueOffset,
        physicalOffset: info.physicalOffset,
        size: info.size,
        tagsCode: this.tagsCodeOf(info.topic, p, info.storeTimestamp),
        storeTimestamp: info.storeTimestamp,
        sysFlag: info.sysFlag,
        keys: p[PROPERTY_KEYS],
        uniqKey: p[PROPERTY_UNIQ_KEY],
      },
      verifyQueue,
      counts,
    );
  }

  // ===========================================================================================
  // Reads

  /** DefaultMessageStore#getMessage. */
  getMessage(
    topic: string,
    queueId: number,
    offset: number,
    maxMsgNums: number,
    filter?: (tagsCode: number) => boolean,
    maxBytes = DEFAULT_MAX_TRANSFER_BYTES,
  ): GetMessageResult {
    if (this.state !== 'OPEN' && this.state !== 'CLOSING') {
      return { status: 'NO_MATCHED_LOGIC_QUEUE', messages: [], nextBeginOffset: offset, minOffset: 0, maxOffset: 0 };
    }
    const cq = this.findQueue(topic, queueId);
    if (!cq) {
      // RocketMQ creates the queue on lookup, so an unknown queue reads as an empty one.
      return { status: 'NO_MESSAGE_IN_QUEUE', messages: [], nextBeginOffset: 0, minOffset: 0, maxOffset: 0 };
    }
    const minOffset = cq.minOffset;
    const maxOffset = cq.maxOffset;
    const result: GetMessageResult = { status: 'NO_MATCHED_MESSAGE', messages: [], nextBeginOffset: offset, minOffset, maxOffset };
    if (maxOffset === 0) {
      result.status = 'NO_MESSAGE_IN_QUEUE';
      result.nextBeginOffset = 0;
    } else if (offset < minOffset) {
      result.status = 'OFFSET_TOO_SMALL';
      result.nextBeginOffset = minOffset;
    } else if (offset === maxOffset) {
      result.status = 'OFFSET_OVERFLOW_ONE';
      result.nextBeginOffset = offset;
    } else if (offset > maxOffset) {
      result.status = 'OFFSET_OVERFLOW_BADLY';
      result.nextBeginOffset = minOffset === 0 ? minOffset : maxOffset;
    } else {
      const wanted = Math.max(1, maxMsgNums);
      const clMin = this.commitLog.minOffset;
      let bytes = 0;
      let next = offset;
      let scanned = 0;
      // Read the queue in slices; a filter that rejects much keeps reading, up to the scan budget.
      const budget = Math.max(MAX_SCAN_ENTRIES, wanted);
      scan: while (scanned < budget && next < maxOffset) {
        const entries = cq.read(next, Math.min(budget - scanned, Math.max(wanted, 32)));
        if (entries.length === 0) break;
        for (const e of entries) {
          if (result.messages.length >= wanted) break scan;
          if (result.messages.length > 0 && bytes + e.size > maxBytes) break scan;
          next = e.queueOffset + 1;
          scanned++;
          if (e.size <= 0) continue; // hole
          if (e.commitLogOffset < clMin) {
            if (result.messages.length === 0) result.status = 'MESSAGE_WAS_REMOVING';
            continue;
          }
          if (filter && !filter(e.tagsCode)) {
            if (result.messages.length === 0) result.status = 'NO_MATCHED_MESSAGE';
            continue;
          }
          const raw = this.readVerified(e.commitLogOffset, e.size, topic, queueId, e.queueOffset);
          if (!raw) {
            if (result.messages.length === 0) result.status = 'MESSAGE_WAS_REMOVING';
            continue;
          }
          result.messages.push(raw);
          bytes += e.size;
          result.status = 'FOUND';
        }
      }
      if (scanned === 0 && result.messages.length === 0 && next === offset) {
        result.status = 'OFFSET_FOUND_NULL';
        result.nextBeginOffset = offset + 1;
        return result;
      }
      result.nextBeginOffset = next;
    }
    return result;
  }

  getMinOffset(topic: string, queueId: number): number {
    return this.findQueue(topic, queueId)?.minOffset ?? 0;
  }

  getMaxOffset(topic: string, queueId: number): number {
    return this.findQueue(topic, queueId)?.maxOffset ?? 0;
  }

  /** First queue offset stored at or after `timestamp` (boundary "lower"); maxOffset if none. */
  getOffsetByTime(topic: string, queueId: number, timestamp: number): number {
    const cq = this.findQueue(topic, queueId);
    if (!cq) return 0;
    return cq.offsetByTime(timestamp, (phy) => this.commitLog.readStoreTimestamp(phy));
  }

  /** Store time of the message at `offset`, -1 if there is none. */
  getStoreTime(topic: string, queueId: number, offset: number): number {
    const entry = this.findQueue(topic, queueId)?.readEntry(offset);
    if (!entry || entry.size <= 0) return -1;
    return this.commitLog.readStoreTimestamp(entry.commitLogOffset);
  }

  getEarliestMessageTime(topic: string, queueId: number): number {
    const cq = this.findQueue(topic, queueId);
    if (!cq || cq.maxOffset <= cq.minOffset) return -1;
    for (let offset = cq.minOffset; offset < Math.min(cq.maxOffset, cq.minOffset + 64); offset++) {
      const t = this.getStoreTime(topic, queueId, offset);
      if (t >= 0) return t;
    }
    return -1;
  }

  /** The raw record at a commitlog offset (VIEW_MESSAGE_BY_ID), or null. */
  lookMessageByOffset(physicalOffset: number): Buffer | null {
    if (!Number.isSafeInteger(physicalOffset) || physicalOffset < 0) return null;
    const raw = this.commitLog.readMessage(physicalOffset);
    if (!raw) return null;
    const problem = this.verifyRecord(raw, physicalOffset);
    if (problem) {
      this.noteCorruptRead({ offset: physicalOffset, size: -1, reason: problem });
      return null;
    }
    return raw;
  }

  /**
   * Messages of `topic` whose KEYS words or UNIQ_KEY equal `key`, stored in [beginTs, endTs],
   * newest first, at most maxNum (IndexService#queryOffset + a re-check: hashes collide).
   */
  queryMessage(topic: string, key: string, maxNum: number, beginTs: number, endTs: number): Buffer[] {
    const out: Buffer[] = [];
    if (maxNum <= 0 || !key) return out;
    const seen = new Set<number>();
    let budget = maxNum * 16 + 256; // bounds the walk through colliding chains
    this.index.queryOffsets(topic, key, beginTs, endTs, (phy) => {
      if (--budget < 0) return false;
      if (seen.has(phy)) return true;
      seen.add(phy);
      if (this.isTombstoned(topic, phy)) return true;
      const raw = this.lookMessageByOffset(phy);
      if (!raw) return true;
      const check = checkStoredRecord(raw, 0, raw.length, false);
      if (check.kind !== 'MESSAGE') return true;
      const info = check.info;
      if (info.topic !== topic || info.storeTimestamp < beginTs || info.storeTimestamp > endTs) return true;
      const keys = info.properties[PROPERTY_KEYS];
      if (info.properties[PROPERTY_UNIQ_KEY] === key || (keys !== undefined && keys.split(' ').includes(key))) out.push(raw);
      return out.length < maxNum;
    });
    return out;
  }

  // ===========================================================================================
  // Replication (used by src-main/broker/ha): the master reads whole raw records, the slave
  // appends them at the same offsets and dispatches its own consume queues and index; a slave
  // that held a divergent tail cuts it; an in-process "kill" drops the store without flushing.

  /** Offset the next record gets (the commitlog's end, pending bytes included). */
  getMaxPhyOffset(): number {
    return this.commitLog.maxOffset;
  }

  getMinPhyOffset(): number {
    return this.commitLog.minOffset;
  }

  /** Everything below is written to the OS (survives a process crash): what a master ships. */
  getWrittenPhyOffset(): number {
    return this.commitLog.writtenOffset;
  }

  /** On for a slave: puts are refused, since its offsets must stay the master's. */
  setReplicaMode(on: boolean): void {
    this.replicaMode = on;
  }

  get isReplica(): boolean {
    return this.replicaMode;
  }

  /**
   * Whole records from `offset` (written ones only), about `maxBytes` of them; at least one
   * record even if it is larger. An end-of-segment blank ends the chunk (its 8 bytes stand for
   * the rest of the segment) and `nextOffset` is then the next segment's start. Null when
   * nothing is written at `offset` yet. Throws when the bytes at `offset` are not a record.
   */
  readReplicationChunk(offset: number, maxBytes: number): { data: Buffer; nextOffset: number } | null {
    const written = this.commitLog.writtenOffset;
    if (offset >= written) return null;
    if (offset < this.commitLog.minOffset) throw new Error(`offset ${offset} is below the log's first offset ${this.commitLog.minOffset}`);
    const segmentSize = this.commitLog.segmentSize;
    const segmentEnd = offset - (offset % segmentSize) + segmentSize;
    const available = Math.min(written, segmentEnd) - offset;
    const want = Math.min(available, Math.max(maxBytes, END_FILE_MIN_BLANK_LENGTH));
    let data = this.commitLog.read(offset, want);
    if (!data) {
      // Near a segment's end the file stops after the blank's 8 bytes: find the extent record by record.
      let p = offset;
      while (p - offset < want) {
        const head = this.commitLog.read(p, 8);
        if (!head) break;
        if (head.readInt32BE(4) === BLANK_MAGIC_CODE) {
          p += END_FILE_MIN_BLANK_LENGTH;
          break;
        }
        const size = head.readInt32BE(0);
        if (size < 8 || (p > offset && p + size - offset > want)) break;
        p += size;
      }
      data = p > offset ? this.commitLog.read(offset, p - offset) : null;
    }
    if (!data) throw new Error(`cannot read the log at ${offset}`);
    let p = 0;
    while (p + 8 <= data.length) {
      const size = data.readInt32BE(p);
      const magic = data.readInt32BE(p + 4);
      if (magic === BLANK_MAGIC_CODE) {
        if (offset + p + size !== segmentEnd) throw new Error(`blank at ${offset + p} does not end its segment`);
        return { data: data.subarray(0, p + END_FILE_MIN_BLANK_LENGTH), nextOffset: segmentEnd };
      }
      if ((magic !== MESSAGE_MAGIC_CODE_V1 && magic !== MESSAGE_MAGIC_CODE_V2) || size < 8) {
        throw new Error(`no record at ${offset + p} (magic 0x${(magic >>> 0).toString(16)}, size ${size})`);
      }
      if (p + size > data.length) {
        if (p > 0) break;
        // One record larger than maxBytes: send it whole.
        if (size > available) throw new Error(`record at ${offset} of ${size} bytes runs past the written end`);
        data = this.commitLog.read(offset, size);
        if (!data) throw new Error(`cannot read the record at ${offset}`);
        return { data, nextOffset: offset + size };
      }
      p += size;
    }
    if (p === 0) return null;
    return { data: data.subarray(0, p), nextOffset: offset + p };
  }

  /**
   * Slave side: appends records the master sent (`data`, whole records and at most one final
   * blank, starting at `offset`, which must be this log's end) byte for byte, then dispatches
   * them like local puts. All or nothing: every record is checked (layout, physicalOffset field,
   * segment fit) before any is appended. Resolves with the new end once the bytes are written to
   * the OS (a slave's ack means written, as RocketMQ's), rejects on any problem.
   */
  appendReplicated(offset: number, data: Buffer): Promise<number> {
    if (this.state !== 'OPEN') return Promise.reject(new Error(`message store is ${this.state.toLowerCase()}`));
    if (this.commitLog.failure) return Promise.reject(this.commitLog.failure);
    const end = this.commitLog.maxOffset;
    if (offset !== end) return Promise.reject(new Error(`replicated chunk starts at ${offset}, the log ends at ${end}`));
    const segmentSize = this.commitLog.segmentSize;
    const records: RecordInfo[] = [];
    let p = 0;
    let blankEnd = -1;
    while (p < data.length) {
      const at = offset + p;
      const segmentEnd = at - (at % segmentSize) + segmentSize;
      const r = checkStoredRecord(data, p, data.length, false);
      if (r.kind === 'BLANK') {
        if (at + r.size !== segmentEnd) {
          return Promise.reject(new Error(`blank at ${at} of ${r.size} bytes does not end a ${segmentSize}-byte segment (segment sizes differ?)`));
        }
        if (p + END_FILE_MIN_BLANK_LENGTH !== data.length) return Promise.reject(new Error(`blank at ${at} is not the chunk's last record`));
        blankEnd = segmentEnd;
        break;
      }
      if (r.kind !== 'MESSAGE') {
        return Promise.reject(new Error(`no whole record at ${at}: ${r.kind === 'CORRUPT' ? r.reason : 'cut short'}`));
      }
      if (r.info.physicalOffset !== at) return Promise.reject(new Error(`record at ${at} says it lives at ${r.info.physicalOffset}`));
      if (at + r.info.size + END_FILE_MIN_BLANK_LENGTH > segmentEnd) return Promise.reject(new Error(`record at ${at} crosses a segment end`));
      records.push(r.info);
      p += r.info.size;
    }
    return new Promise<number>((resolve, reject) => {
      const newEnd = blankEnd >= 0 ? blankEnd : offset + p;
      const put = this.newPut((r) => (r.status === 'PUT_OK' ? resolve(newEnd) : reject(new Error(r.error ?? r.status))), { WAIT: 'false' });
      put.endOffset = newEnd;
      let q = 0;
      for (const info of records) {
        const physicalOffset = this.commitLog.appendRaw(data.subarray(q, q + info.size));
        q += info.size;
        if (takesQueueSlot(info.sysFlag) && info.queueOffset + 1 > this.nextQueueOffset(info.topic, info.queueId)) {
          this.setNextQueueOffset(info.topic, info.queueId, info.queueOffset + 1);
        }
        const props = info.properties;
        this.unwritten.push({
          topic: info.topic,
          queueId: info.queueId,
          queueOffset: info.queueOffset,
          physicalOffset,
          size: info.size,
          tagsCode: this.tagsCodeOf(info.topic, props, info.storeTimestamp),
          storeTimestamp: info.storeTimestamp,
          sysFlag: info.sysFlag,
          keys: props[PROPERTY_KEYS],
          uniqKey: props[PROPERTY_UNIQ_KEY],
          put,
        });
        this.messageCount++;
      }
      if (blankEnd >= 0) {
        // The segment's records are written before its blank (as makeRoom does for puts).
        this.writePending();
        if (!put.failed) {
          const error = this.commitLog.rollSegment();
          if (error) put.failed = errorStatus(error);
        }
      }
      this.scheduleTick();
    });
  }

  /**
   * Cuts everything from `offset` (a record boundary) on: commitlog, consume-queue entries that
   * point there, next queue offsets; the checkpoint is rewritten. Index entries past the cut stay
   * but are harmless: queries re-read and re-check every record they point at. For a slave
   * holding a tail its new master never had (a returning old master). Reports what was cut.
   */
  truncateTail(offset: number): { from: number; to: number; bytes: number; records: number; removedSegments: string[] } {
    if (this.state !== 'OPEN') throw new Error(`message store is ${this.state.toLowerCase()}`);
    this.tick();
    const to = this.commitLog.maxOffset;
    const report = { from: offset, to, bytes: Math.max(0, to - offset), records: 0, removedSegments: [] as string[] };
    if (offset >= to) return report;
    if (offset < this.commitLog.minOffset) throw new Error(`cannot cut at ${offset}: below the log's first offset ${this.commitLog.minOffset}`);
    const segmentSize = this.commitLog.segmentSize;
    for (let at = offset; at < to;) {
      const head = this.commitLog.read(at, 8);
      if (!head) break;
      const size = head.readInt32BE(0);
      if (head.readInt32BE(4) === BLANK_MAGIC_CODE) {
        at = at - (at % segmentSize) + segmentSize;
        continue;
      }
      if (size < 8) throw new Error(`cannot cut at ${offset}: no record boundary walk past ${at}`);
      report.records++;
      at += size;
    }
    report.removedSegments = this.commitLog.truncateTo(offset);
    for (const [topic, byQueue] of this.queues) {
      for (const [queueId, cq] of byQueue) {
        cq.truncateDirty(offset);
        this.setNextQueueOffset(topic, queueId, cq.maxOffset);
      }
    }
    this.dispatchedOffset = offset;
    this.derivedFlushed = { consumeQueue: Math.min(this.derivedFlushed.consumeQueue, offset), index: Math.min(this.derivedFlushed.index, offset) };
    this.writeCheckpointSync();
    return report;
  }

  /**
   * In-process "kill": timers stop and descriptors close with nothing more written, flushed or
   * checkpointed; records not yet written are dropped and their puts never settle; the abort
   * file stays, so the next open recovers as after a crash of the process.
   */
  abandon(): void {
    if (this.state === 'CLOSED' || this.state === 'NEW') return;
    this.state = 'CLOSED';
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    if (this.syncWatchdog) clearTimeout(this.syncWatchdog);
    this.syncWatchdog = null;
    this.unwritten = [];
    this.undispatched = [];
    this.unsettled = [];
    this.syncWaiters = [];
    this.fds.closeAll();
    void this.commitLog.close().catch(() => undefined);
  }

  // ===========================================================================================
  // Topics and listeners

  /** Drops the topic's consume queues; its records stay in the commitlog but are never dispatched again. */
  deleteTopic(topic: string): void {
    if (topicProblem(topic)) return;
    const byQueue = this.queues.get(topic);
    if (byQueue) for (const cq of byQueue.values()) cq.destroy();
    this.queues.delete(topic);
    this.queueOffsets.delete(topic);
    this.fds.closeUnder(path.join(this.cqRoot, topic));
    this.io.rmSync(path.join(this.cqRoot, topic), { recursive: true, force: true });
    this.tombstones.set(topic, this.commitLog.maxOffset);
    try {
      this.saveTombstones();
    } catch (e) {
      log.error(`could not persist the deletion of ${topic}: ${(e as Error).message}`);
    }
  }

  /** Queues holding data, per topic. */
  topicQueueIds(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [topic, byQueue] of this.queues) {
      const ids = [...byQueue.values()].filter((cq) => cq.maxOffset > 0).map((cq) => cq.queueId).sort((a, b) => a - b);
      if (ids.length > 0) out.set(topic, ids);
    }
    return out;
  }

  /** Called once per message when its consume-queue entry is visible (long polling wake-up). */
  onMessageArrived(listener: MessageArrivedListener): void {
    this.listeners.push(listener);
  }

  stats(): StoreStats {
    let diskUsedBytes = this.commitLog.diskUsedBytes + this.index.diskBytes;
    for (const byQueue of this.queues.values()) for (const cq of byQueue.values()) diskUsedBytes += cq.diskBytes;
    return {
      commitLogMinOffset: this.commitLog.minOffset,
      commitLogMaxOffset: this.commitLog.maxOffset,
      messageCount: this.messageCount,
      diskUsedBytes,
      dispatchBehindBytes: Math.max(0, this.commitLog.maxOffset - this.dispatchedOffset),
      corruptRecordsSkipped: this.corruptReadCount,
    };
  }

  // ===========================================================================================
  // internals

  private findQueue(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.queues.get(topic)?.get(queueId);
  }

  private getOrCreateQueue(topic: string, queueId: number): ConsumeQueue {
    let byQueue = this.queues.get(topic);
    if (!byQueue) {
      byQueue = new Map();
      this.queues.set(topic, byQueue);
    }
    let cq = byQueue.get(queueId);
    if (!cq) {
      cq = new ConsumeQueue({ rootDir: this.cqRoot, topic, queueId, entriesPerFile: this.config.consumeQueueEntriesPerFile, fds: this.fds });
      byQueue.set(queueId, cq);
    }
    return cq;
  }

  private nextQueueOffset(topic: string, queueId: number): number {
    return this.queueOffsets.get(topic)?.get(queueId) ?? 0;
  }

  private setNextQueueOffset(topic: string, queueId: number, next: number): void {
    let byQueue = this.queueOffsets.get(topic);
    if (!byQueue) {
      byQueue = new Map();
      this.queueOffsets.set(topic, byQueue);
    }
    byQueue.set(queueId, next);
  }

  private isTombstoned(topic: string, physicalOffset: number): boolean {
    if (this.tombstones.size === 0) return false;
    const deletedAt = this.tombstones.get(topic);
    return deletedAt !== undefined && physicalOffset < deletedAt;
  }

  private loadTombstones(): void {
    try {
      const parsed = JSON.parse(this.io.readFileSync(this.tombstonesPath).toString('utf8')) as { topics?: Record<string, number> };
      this.tombstones = new Map(Object.entries(parsed.topics ?? {}).filter(([, v]) => Number.isSafeInteger(v)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`ignoring unreadable ${TOMBSTONES_FILE}: ${(e as Error).message}`);
      this.tombstones = new Map();
    }
  }

  /** temp + fsync + rename, like the checkpoint. */
  private saveTombstones(): void {
    const tmp = `${this.tombstonesPath}.tmp`;
    this.writeFileDurably(tmp, this.tombstonesPath, JSON.stringify({ version: 1, topics: Object.fromEntries(this.tombstones) }));
  }

  // ===========================================================================================
  // Integrity: the read-path check, the corruption report, the record-CRC marker

  /**
   * Damaged records known to this store: what the last recovery quarantined (kept on disk, never
   * served) or cut, and what reads have run into since (bit rot below the checkpoint, which
   * recovery does not re-read).
   */
  corruptionReport(): CorruptionReport {
    const cl = this.lastRecovery?.commitLog;
    return {
      recovery: cl ? { truncated: cl.truncated, quarantined: cl.corruptRanges } : null,
      reads: [...this.corruptReads.values()],
      readsTotal: this.corruptReadCount,
    };
  }

  /** The report of the last open (recovery). */
  get recoveryReport(): RecoveryReport | null {
    return this.lastRecovery;
  }

  /** null if `raw` is an intact record stored at `offset`, else why not. */
  private verifyRecord(raw: Buffer, offset: number): string | null {
    return verifyStoredRecord(raw, offset, offset >= this.commitLog.recordCrcRequiredFrom);
  }

  /**
   * The record a consume-queue entry points at, verified (layout, offset, whole-record CRC) and
   * cross-checked against the entry (topic, queue id, queue offset); null when it is not there or
   * damaged. A damaged entry in front of an intact record (the size wrong) still finds the record.
   */
  private readVerified(offset: number, size: number, topic: string, queueId: number, queueOffset: number): Buffer | null {
    let raw = this.commitLog.read(offset, size);
    if (!raw) return null;
    let problem = this.verifyRecord(raw, offset);
    if (problem && raw.length >= 8 && raw.readInt32BE(0) !== size) {
      const own = this.commitLog.readMessage(offset);
      if (own && !this.verifyRecord(own, offset)) {
        raw = own;
        problem = null;
      }
    }
    if (!problem) problem = mismatchWithEntry(raw, topic, queueId, queueOffset);
    if (problem) {
      this.noteCorruptRead({ offset, size, reason: problem, topic, queueId, queueOffset });
      return null;
    }
    return raw;
  }

  private noteCorruptRead(r: Omit<CorruptRead, 'firstSeen' | 'count'>): void {
    this.corruptReadCount++;
    const known = this.corruptReads.get(r.offset);
    if (known) {
      known.count++;
      return;
    }
    if (this.corruptReads.size < MAX_CORRUPT_READS_KEPT) this.corruptReads.set(r.offset, { ...r, firstSeen: Date.now(), count: 1 });
    const where = r.topic === undefined ? '' : ` (${r.topic}/${r.queueId}@${r.queueOffset})`;
    log.error(`damaged record at commitlog offset ${r.offset}${where} skipped, never served: ${r.reason}`);
  }

  /**
   * `record-crc.json` says from which commitlog offset every record must carry the whole-record
   * CRC trailer: 0 for a store created by this version; for an older store, its end when it was
   * first opened by this version (older records are checked by body CRC, or by their trailer if
   * they have one). Without it a flip in a trailer's name could pass a record off as an old one.
   */
  private loadRecordCrcMarker(): number | null {
    let text: string;
    try {
      text = this.io.readFileSync(this.recordCrcPath).toString('utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`cannot read ${RECORD_CRC_FILE}: ${(e as Error).message}`);
      return null;
    }
    try {
      const parsed = JSON.parse(text) as { requiredFrom?: unknown };
      if (typeof parsed.requiredFrom === 'number' && Number.isSafeInteger(parsed.requiredFrom) && parsed.requiredFrom >= 0) return parsed.requiredFrom;
    } catch {
      // reported below
    }
    log.warn(`${RECORD_CRC_FILE} is damaged; records written before this open are checked as an older store's`);
    return null;
  }

  private saveRecordCrcMarker(requiredFrom: number): void {
    this.writeFileDurably(`${this.recordCrcPath}.tmp`, this.recordCrcPath, JSON.stringify({ version: 1, requiredFrom }));
  }

  /** temp + fsync + rename + directory fsync. */
  private writeFileDurably(tmp: string, target: string, text: string): void {
    const data = Buffer.from(text, 'utf8');
    const fd = this.io.openSync(tmp, 'w');
    try {
      writeFullySync(this.io, fd, data, 0, data.length, 0);
      this.io.fsyncSync(fd);
    } finally {
      this.io.closeSync(fd);
    }
    this.io.renameSync(tmp, target);
    this.io.fsyncDirSync(path.dirname(target));
  }
}

/** PREPARED and ROLLBACK records take no queue slot (CommitLog.DefaultAppendMessageCallback#doAppend). */
function takesQueueSlot(sysFlag: number): boolean {
  const type = transactionType(sysFlag);
  return type === MessageSysFlag.TRANSACTION_NOT_TYPE || type === MessageSysFlag.TRANSACTION_COMMIT_TYPE;
}

/** A verified record must be the one its consume-queue entry names (a damaged entry could point at another). */
function mismatchWithEntry(raw: Buffer, topic: string, queueId: number, queueOffset: number): string | null {
  if (raw.readInt32BE(POS_QUEUE_ID) !== queueId) return `record has queueId ${raw.readInt32BE(POS_QUEUE_ID)}, its entry says ${queueId}`;
  if (readInt64(raw, POS_QUEUE_OFFSET) !== queueOffset) return `record has queueOffset ${readInt64(raw, POS_QUEUE_OFFSET)}, its entry says ${queueOffset}`;
  const check = recordTopic(raw);
  if (check !== topic) return `record has topic ${JSON.stringify(check)}, its entry says ${JSON.stringify(topic)}`;
  return null;
}
