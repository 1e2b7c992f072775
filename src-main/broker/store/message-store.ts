/**
 * MessageStore: the facade the broker uses. Upstream: `store/.../DefaultMessageStore.java`.
 * It owns the life cycle and wires the parts, each in its own file:
 *
 *   put-path.ts                   putMessage(s): encode, queue offsets, one write per tick, settle
 *   dispatcher.ts                 record → consume-queue entry + index keys (live and on recovery)
 *   flush/group-commit.service.ts SYNC puts answered after the fsync that covers them
 *   flush/interval-flush.service.ts  ASYNC fsyncs, derived-file flushes, checkpoints
 *   store-recovery.ts             open: verify, quarantine, cut, rebuild; the RecoveryReport
 *   read-path.ts                  pull, view by offset, query by key, with record checks
 *   replication-log.ts            what HA reads from a master and appends on a slave
 *   consume-queue-table.ts, topic-tombstones.ts, record-crc-marker.ts, store-types.ts
 *
 * Life cycle: open() = load → recover → serve; close() = write, dispatch, fsync, checkpoint;
 * abandon() = an in-process kill. All file access goes through a FileIO (`config.fileIO`), so
 * tests can run the store on CrashFS.
 */
import path from 'node:path';
import { createLogger } from '../../remoting/logger.js';
import { StoreCheckpoint } from './checkpoint.js';
import { CommitLog } from './commit-log.js';
import { FileDescriptorCache } from './consume-queue.js';
import { ConsumeQueueTable } from './consume-queue-table.js';
import { Dispatcher } from './dispatcher.js';
import { GroupCommitService } from './flush/group-commit.service.js';
import { IntervalFlushService } from './flush/interval-flush.service.js';
import { IndexService } from './index-file.js';
import { nodeFileIO, type FileIO } from './io/file-io.js';
import { PutPath, topicProblem } from './put-path.js';
import { ReadPath } from './read-path.js';
import { RECORD_CRC_FILE } from './record-crc-marker.js';
import { ReplicationLog, type TruncateReport } from './replication-log.js';
import { ABORT_FILE, recoverStore, type RecoveryReport } from './store-recovery.js';
import {
  StoreLifecycle,
  resolveStoreConfig,
  type CorruptionReport,
  type GetMessageResult,
  type MessageArrivedListener,
  type MessageStoreConfig,
  type MessageToStore,
  type PutMessageResult,
  type ResolvedStoreConfig,
  type StoreStats,
} from './store-types.js';
import { TOMBSTONES_FILE, TopicTombstones } from './topic-tombstones.js';

export type {
  CorruptRead,
  CorruptionReport,
  GetMessageResult,
  GetMessageStatus,
  MessageArrivedListener,
  MessageStoreConfig,
  MessageToStore,
  PutMessageResult,
  PutMessageStatus,
  StoreStats,
} from './store-types.js';
export type { RecoveryReport } from './store-recovery.js';

const log = createLogger('store');

export class MessageStore {
  private readonly config: ResolvedStoreConfig;
  private readonly io: FileIO;
  private readonly lifecycle = new StoreLifecycle();
  private readonly commitLog: CommitLog;
  private readonly fds: FileDescriptorCache;
  private readonly queues: ConsumeQueueTable;
  private readonly index: IndexService;
  private readonly checkpoint: StoreCheckpoint;
  private readonly tombstones: TopicTombstones;
  private readonly abortPath: string;
  private readonly dispatcher: Dispatcher;
  private readonly groupCommit: GroupCommitService;
  private readonly putPath: PutPath;
  private readonly flusher: IntervalFlushService;
  private readonly reader: ReadPath;
  private readonly replication: ReplicationLog;
  /** What the last open found and did. */
  private lastRecovery: RecoveryReport | null = null;

  constructor(config: MessageStoreConfig) {
    this.config = resolveStoreConfig(config);
    const dir = this.config.storeDir;
    this.io = config.fileIO ?? nodeFileIO;
    this.fds = new FileDescriptorCache(128, this.io);
    this.commitLog = new CommitLog({ dir: path.join(dir, 'commitlog'), segmentSize: this.config.commitLogSegmentSize, fileOps: config.commitLogFileOps, io: this.io });
    this.queues = new ConsumeQueueTable(path.join(dir, 'consumequeue'), this.config.consumeQueueEntriesPerFile, this.fds);
    this.index = new IndexService({ dir: path.join(dir, 'index'), slotNum: this.config.indexSlotNum, maxEntries: this.config.indexMaxEntries, io: this.io });
    this.checkpoint = new StoreCheckpoint(path.join(dir, 'checkpoint'), this.io);
    this.tombstones = new TopicTombstones(this.io, path.join(dir, TOMBSTONES_FILE));
    this.abortPath = path.join(dir, ABORT_FILE);

    const { lifecycle, commitLog, queues, index, checkpoint, tombstones } = this;
    const dispatcher = new Dispatcher(queues, index, tombstones, this.config.tagsCodeResolver);
    const groupCommit = new GroupCommitService(commitLog, this.config.syncFlushTimeoutMs);
    const putPath = new PutPath({ lifecycle, config: this.config, commitLog, queues, dispatcher, groupCommit });
    const flusher = new IntervalFlushService(
      { lifecycle, commitLog, queues, index, checkpoint, groupCommit, dispatcher, lastStoreTimestamp: () => putPath.lastStoreTimestamp },
      this.config.flushIntervalMs,
    );
    this.dispatcher = dispatcher;
    this.groupCommit = groupCommit;
    this.putPath = putPath;
    this.flusher = flusher;
    this.reader = new ReadPath({ lifecycle, commitLog, queues, index, tombstones });
    this.replication = new ReplicationLog({ lifecycle, commitLog, queues, putPath, dispatcher, flusher });
  }

  // ===========================================================================================
  // Life cycle

  /** Loads and recovers (DefaultMessageStore#load + #recover); see store-recovery.ts. */
  async open(): Promise<RecoveryReport> {
    if (this.lifecycle.state !== 'NEW') throw new Error(`store is ${this.lifecycle.state}`);
    this.lifecycle.state = 'OPENING';
    const started = Date.now();
    try {
      const { report, endOffset, lastStoreTimestamp } = recoverStore({
        io: this.io,
        storeDir: this.config.storeDir,
        abortPath: this.abortPath,
        recordCrcPath: path.join(this.config.storeDir, RECORD_CRC_FILE),
        checkCRC: this.config.checkCRCOnRecover,
        commitLog: this.commitLog,
        queues: this.queues,
        index: this.index,
        checkpoint: this.checkpoint,
        tombstones: this.tombstones,
        dispatcher: this.dispatcher,
      });
      this.dispatcher.dispatchedOffset = endOffset;
      this.putPath.lastStoreTimestamp = lastStoreTimestamp;
      await this.flusher.flushDerived();
      this.flusher.writeCheckpointSync();
      report.durationMs = Date.now() - started;
      this.lastRecovery = report;
      this.lifecycle.state = 'OPEN';
      this.flusher.start();
      if (report.commitLog.truncated || report.commitLog.corruptRanges.length > 0) {
        log.warn(`recovery: ${JSON.stringify({ truncated: report.commitLog.truncated, corrupt: report.commitLog.corruptRanges })}`);
      }
      return report;
    } catch (e) {
      this.lifecycle.state = 'CLOSED';
      this.fds.closeAll();
      await this.commitLog.close().catch(() => undefined);
      throw e;
    }
  }

  /** Flushes everything, writes the checkpoint and releases files. Pending puts settle first. */
  async close(): Promise<void> {
    if (this.lifecycle.state !== 'OPEN') return;
    this.lifecycle.state = 'CLOSING';
    this.flusher.stop();
    let clean = true;
    try {
      this.putPath.tick();
      await this.flusher.inFlight;
      await this.commitLog.flush();
      this.groupCommit.settle();
      await this.flusher.flushDerived();
      this.index.flushSync();
      await this.checkpoint.settle(); // a flush() in flight shares the temp file
      this.flusher.writeCheckpointSync();
    } catch (e) {
      clean = false;
      log.error(`close: ${(e as Error).message}; the next open will recover`);
      this.groupCommit.settle(e as Error);
    }
    this.groupCommit.stop();
    await this.commitLog.close().catch(() => undefined);
    this.fds.closeAll();
    if (clean) this.io.rmSync(this.abortPath, { force: true });
    this.lifecycle.state = 'CLOSED';
  }

  /** Writes what is pending and fsyncs commitlog, consume queues and index; then checkpoints. */
  async flush(): Promise<void> {
    if (this.lifecycle.state !== 'OPEN') return;
    this.putPath.tick();
    await this.commitLog.flush();
    this.groupCommit.settle();
    await this.flusher.flushDerived();
    await this.flusher.writeCheckpoint();
  }

  /**
   * In-process "kill": timers stop and descriptors close with nothing more written, flushed or
   * checkpointed; records not yet written are dropped and their puts never settle; the abort
   * file stays, so the next open recovers as after a crash of the process.
   */
  abandon(): void {
    const state = this.lifecycle.state;
    if (state === 'CLOSED' || state === 'NEW') return;
    this.lifecycle.state = 'CLOSED';
    this.flusher.stop();
    this.groupCommit.abandon();
    this.putPath.abandon();
    this.fds.closeAll();
    void this.commitLog.close().catch(() => undefined);
  }

  // ===========================================================================================
  // Put (put-path.ts)

  putMessage(msg: MessageToStore): Promise<PutMessageResult> {
    return this.putPath.putMessage(msg);
  }

  /** A batch: stored contiguously in one segment, consecutive queue offsets, all-or-nothing. */
  putMessages(msgs: MessageToStore[]): Promise<PutMessageResult> {
    return this.putPath.putMessages(msgs);
  }

  // ===========================================================================================
  // Reads (read-path.ts)

  /** DefaultMessageStore#getMessage. */
  getMessage(
    topic: string,
    queueId: number,
    offset: number,
    maxMsgNums: number,
    filter?: (tagsCode: number) => boolean,
    maxBytes?: number,
  ): GetMessageResult {
    return this.reader.getMessage(topic, queueId, offset, maxMsgNums, filter, maxBytes);
  }

  getMinOffset(topic: string, queueId: number): number {
    return this.reader.getMinOffset(topic, queueId);
  }

  getMaxOffset(topic: string, queueId: number): number {
    return this.reader.getMaxOffset(topic, queueId);
  }

  /** First queue offset stored at or after `timestamp` (boundary "lower"); maxOffset if none. */
  getOffsetByTime(topic: string, queueId: number, timestamp: number): number {
    return this.reader.getOffsetByTime(topic, queueId, timestamp);
  }

  /** Store time of the message at `offset`, -1 if there is none. */
  getStoreTime(topic: string, queueId: number, offset: number): number {
    return this.reader.getStoreTime(topic, queueId, offset);
  }

  getEarliestMessageTime(topic: string, queueId: number): number {
    return this.reader.getEarliestMessageTime(topic, queueId);
  }

  /** The raw record at a commitlog offset (VIEW_MESSAGE_BY_ID), or null. */
  lookMessageByOffset(physicalOffset: number): Buffer | null {
    return this.reader.lookMessageByOffset(physicalOffset);
  }

  /** Messages of `topic` whose KEYS words or UNIQ_KEY equal `key`, stored in [beginTs, endTs], newest first. */
  queryMessage(topic: string, key: string, maxNum: number, beginTs: number, endTs: number): Buffer[] {
    return this.reader.queryMessage(topic, key, maxNum, beginTs, endTs);
  }

  // ===========================================================================================
  // Replication (replication-log.ts; used by src-main/broker/ha)

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
    this.replication.setReplicaMode(on);
  }

  get isReplica(): boolean {
    return this.replication.isReplica;
  }

  /** Whole written records from `offset`, about `maxBytes` of them; null when nothing is written there yet. */
  readReplicationChunk(offset: number, maxBytes: number): { data: Buffer; nextOffset: number } | null {
    return this.replication.readReplicationChunk(offset, maxBytes);
  }

  /** Slave side: appends the master's records at `offset` (this log's end); resolves with the new end once written. */
  appendReplicated(offset: number, data: Buffer): Promise<number> {
    return this.replication.appendReplicated(offset, data);
  }

  /** Cuts everything from `offset` (a record boundary) on; for a returning old master. Reports what was cut. */
  truncateTail(offset: number): TruncateReport {
    return this.replication.truncateTail(offset);
  }

  // ===========================================================================================
  // Topics, listeners, statistics, integrity

  /** Drops the topic's consume queues; its records stay in the commitlog but are never dispatched again. */
  deleteTopic(topic: string): void {
    if (topicProblem(topic)) return;
    this.queues.deleteTopic(topic);
    this.tombstones.mark(topic, this.commitLog.maxOffset);
  }

  /** Queues holding data, per topic. */
  topicQueueIds(): Map<string, number[]> {
    return this.queues.topicQueueIds();
  }

  /** Called once per message when its consume-queue entry is visible (long polling wake-up). */
  onMessageArrived(listener: MessageArrivedListener): void {
    this.dispatcher.onMessageArrived(listener);
  }

  stats(): StoreStats {
    return {
      commitLogMinOffset: this.commitLog.minOffset,
      commitLogMaxOffset: this.commitLog.maxOffset,
      messageCount: this.putPath.messageCount,
      diskUsedBytes: this.commitLog.diskUsedBytes + this.index.diskBytes + this.queues.diskBytes,
      dispatchBehindBytes: Math.max(0, this.commitLog.maxOffset - this.dispatcher.dispatchedOffset),
      corruptRecordsSkipped: this.reader.corruptReadsTotal,
    };
  }

  /**
   * Damaged records known to this store: what the last recovery quarantined (kept on disk, never
   * served) or cut, and what reads have run into since (bit rot below the checkpoint, which
   * recovery does not re-read).
   */
  corruptionReport(): CorruptionReport {
    const cl = this.lastRecovery?.commitLog;
    return {
      recovery: cl ? { truncated: cl.truncated, quarantined: cl.corruptRanges } : null,
      reads: this.reader.corruptReadList(),
      readsTotal: this.reader.corruptReadsTotal,
    };
  }

  /** The report of the last open (recovery). */
  get recoveryReport(): RecoveryReport | null {
    return this.lastRecovery;
  }
}
