/**
 * The message store's vocabulary: its configuration with every default, what a put hands in, the
 * outcomes of puts and gets (RocketMQ's PutMessageStatus / GetMessageStatus names), statistics and
 * the corruption report. `message-store.ts` re-exports the public ones; the rest (life-cycle
 * state, pending puts) is shared only by the store's own parts.
 */
import type { CommitLogFileOps, CommitLogRecovery } from './commit-log.js';
import { DEFAULT_CONSUME_QUEUE_ENTRIES_PER_FILE } from './consume-queue.js';
import type { FileIO } from './io/file-io.js';
import type { MessageBase } from './message-codec.js';

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

/** The config with every default filled in (the file layer is resolved separately). */
export type ResolvedStoreConfig = Required<Omit<MessageStoreConfig, 'tagsCodeResolver' | 'commitLogFileOps' | 'fileIO'>> &
  Pick<MessageStoreConfig, 'tagsCodeResolver' | 'commitLogFileOps'>;

const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

export function resolveStoreConfig(config: MessageStoreConfig): ResolvedStoreConfig {
  return {
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
}

/** A message to put (MessageExtBrokerInner): the record's sender-side fields, plus an optional tag code. */
export interface MessageToStore extends MessageBase {
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

export type StoreState = 'NEW' | 'OPENING' | 'OPEN' | 'CLOSING' | 'CLOSED';

/** Set by the facade, read by its parts: where the store is in its life cycle, and whether it is a replica. */
export class StoreLifecycle {
  state: StoreState = 'NEW';
  /** HA: a slave's log grows only by replication (appendReplicated); puts are refused. */
  replicaMode = false;
}

/** A put (single or batch) waiting for its records to be written, and for SYNC also fsynced. */
export interface PendingPut {
  resolve: (r: PutMessageResult) => void;
  result: PutMessageResult;
  endOffset: number;
  waitFlush: boolean;
  failed?: PutMessageResult;
  enqueuedAt: number;
}

/** A write error as a put outcome: a full disk makes the store unavailable, anything else is unknown. */
export function errorStatus(e: unknown): PutMessageResult {
  const err = e as NodeJS.ErrnoException;
  const text = err?.message ?? String(e);
  if (err?.code === 'ENOSPC' || err?.code === 'EDQUOT') return { status: 'SERVICE_NOT_AVAILABLE', error: `disk full: ${text}` };
  return { status: 'UNKNOWN_ERROR', error: text };
}
