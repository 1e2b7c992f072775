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
 * Recovery: the `abort` file marks an unclean stop. The commitlog is verified from the checkpoint
 * on (layout, offset, body CRC); damage with valid records after it is skipped and reported, a
 * torn tail is cut. Consume queues and the index are rebuilt by dispatching the same records
 * (idempotently) from where each is known durable; deleting `consumequeue/` or `index/` (or the
 * checkpoint) forces a full rebuild.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../remoting/logger.js';
import { StoreCheckpoint, type CheckpointData } from './checkpoint.js';
import { CommitLog, type CommitLogFileOps, type CommitLogRecovery } from './commit-log.js';
import { ConsumeQueue, DEFAULT_CONSUME_QUEUE_ENTRIES_PER_FILE, FileDescriptorCache } from './consume-queue.js';
import { IndexService } from './index-file.js';
import {
  MAX_PROPERTIES_LENGTH,
  MAX_TOPIC_LENGTH_V1,
  MESSAGE_MAGIC_CODE_V1,
  MESSAGE_MAGIC_CODE_V2,
  MessageSysFlag,
  POS_MAGIC,
  POS_PHYSICAL_OFFSET,
  PROPERTY_KEYS,
  PROPERTY_TAGS,
  PROPERTY_UNIQ_KEY,
  bodyCrc32,
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
  private readonly config: Required<Omit<MessageStoreConfig, 'tagsCodeResolver' | 'commitLogFileOps'>> &
    Pick<MessageStoreConfig, 'tagsCodeResolver' | 'commitLogFileOps'>;
  private readonly commitLog: CommitLog;
  private readonly cqRoot: string;
  private readonly fds = new FileDescriptorCache(128);
  private readonly queues = new Map<string, Map<number, ConsumeQueue>>();
  /** Next queue offset per topic/queue (CommitLog.topicQueueTable). */
  private readonly queueOffsets = new Map<string, Map<number, number>>();
  private readonly index: IndexService;
  private readonly checkpoint: StoreCheckpoint;
  private readonly abortPath: string;
  private readonly tombstonesPath: string;
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
    this.commitLog = new CommitLog({ dir: path.join(dir, 'commitlog'), segmentSize: this.config.commitLogSegmentSize, fileOps: config.commitLogFileOps });
    this.cqRoot = path.join(dir, 'consumequeue');
    this.index = new IndexService({ dir: path.join(dir, 'index'), slotNum: this.config.indexSlotNum, maxEntries: this.config.indexMaxEntries });
    this.checkpoint = new StoreCheckpoint(path.join(dir, 'checkpoint'));
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
    fs.mkdirSync(dir, { recursive: true });
    const abnormal = fs.existsSync(this.abortPath);
    const cp = this.checkpoint.load();
    fs.writeFileSync(this.abortPath, String(process.pid));
    this.loadTombstones();

    const cqDirMissing = !fs.existsSync(this.cqRoot);
    const indexDirMissing = !fs.existsSync(this.index.dir);
    this.commitLog.load();
    const clMin = this.commitLog.minOffset;

    let tailBytesCut = 0;
    if (!cqDirMissing) {
      for (const topic of fs.readdirSync(this.cqRoot)) {
        const topicDir = path.join(this.cqRoot, topic);
        if (!fs.statSync(topicDir).isDirectory()) continue;
        for (const q of fs.readdirSync(topicDir)) {
          if (!/^\d+$/.test(q)) continue;
          const cq = this.getOrCreateQueue(topic, Number(q));
          tailBytesCut += cq.load().truncatedBytes;
        }
      }
    }
    fs.mkdirSync(this.cqRoot, { recursive: true });

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

    const counts: RecoveryCounts = { added: 0, repaired: 0, holes: 0 };
    const clReport = this.commitLog.recover({
      from: scanFrom,
      checkCRC: this.config.checkCRCOnRecover,
      onRecord: (info) => this.dispatchRecovered(info, info.physicalOffset >= cqFrom, counts),
    });
    const end = clReport.endOffset;

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
    if (clean) fs.rmSync(this.abortPath, { force: true });
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
    const properties = encodeProperties(msg.properties ?? {});
    const propertiesLength = properties.length === 0 ? 0 : Buffer.byteLength(properties, 'utf8');
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
          const raw = this.commitLog.read(e.commitLogOffset, e.size);
          if (!raw || !looksLikeRecord(raw, e.commitLogOffset)) {
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
    return this.commitLog.readMessage(physicalOffset);
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
      const raw = this.commitLog.readMessage(phy);
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
  // Topics and listeners

  /** Drops the topic's consume queues; its records stay in the commitlog but are never dispatched again. */
  deleteTopic(topic: string): void {
    if (topicProblem(topic)) return;
    const byQueue = this.queues.get(topic);
    if (byQueue) for (const cq of byQueue.values()) cq.destroy();
    this.queues.delete(topic);
    this.queueOffsets.delete(topic);
    this.fds.closeUnder(path.join(this.cqRoot, topic));
    fs.rmSync(path.join(this.cqRoot, topic), { recursive: true, force: true });
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
      const parsed = JSON.parse(fs.readFileSync(this.tombstonesPath, 'utf8')) as { topics?: Record<string, number> };
      this.tombstones = new Map(Object.entries(parsed.topics ?? {}).filter(([, v]) => Number.isSafeInteger(v)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`ignoring unreadable ${TOMBSTONES_FILE}: ${(e as Error).message}`);
      this.tombstones = new Map();
    }
  }

  /** temp + fsync + rename, like the checkpoint. */
  private saveTombstones(): void {
    const tmp = `${this.tombstonesPath}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, JSON.stringify({ version: 1, topics: Object.fromEntries(this.tombstones) }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.tombstonesPath);
  }
}

/** PREPARED and ROLLBACK records take no queue slot (CommitLog.DefaultAppendMessageCallback#doAppend). */
function takesQueueSlot(sysFlag: number): boolean {
  const type = transactionType(sysFlag);
  return type === MessageSysFlag.TRANSACTION_NOT_TYPE || type === MessageSysFlag.TRANSACTION_COMMIT_TYPE;
}

/** A consume-queue entry must point at a record that says it lives there. */
function looksLikeRecord(raw: Buffer, physicalOffset: number): boolean {
  if (raw.length < 36 || raw.readInt32BE(0) !== raw.length) return false;
  const magic = raw.readInt32BE(POS_MAGIC);
  return (magic === MESSAGE_MAGIC_CODE_V1 || magic === MESSAGE_MAGIC_CODE_V2) && readInt64(raw, POS_PHYSICAL_OFFSET) === physicalOffset;
}
