/**
 * ASYNC flush and checkpoints. Upstream: `CommitLog.FlushRealTimeService`,
 * `DefaultMessageStore.FlushConsumeQueueService` and the `StoreCheckpoint` flushes. Every
 * `flushIntervalMs` (500 ms) it fsyncs the commitlog (answering SYNC puts that covers), then the
 * consume queues and the index, then writes the checkpoint if an offset moved.
 *
 * Invariant: the checkpoint never claims more than is on disk. The derived files' offsets are
 * taken before their fsyncs start and capped by the commitlog's flushed offset; a consume queue
 * whose write failed holds its offset back until a later round writes it.
 */
import { createLogger } from '../../../remoting/logger.js';
import type { StoreCheckpoint, CheckpointData } from '../checkpoint.js';
import type { CommitLog } from '../commit-log.js';
import type { ConsumeQueue } from '../consume-queue.js';
import type { ConsumeQueueTable } from '../consume-queue-table.js';
import type { Dispatcher } from '../dispatcher.js';
import type { IndexService } from '../index-file.js';
import type { StoreLifecycle } from '../store-types.js';
import type { GroupCommitService } from './group-commit.service.js';

const log = createLogger('store');

export interface FlushedParts {
  lifecycle: StoreLifecycle;
  commitLog: CommitLog;
  queues: ConsumeQueueTable;
  index: IndexService;
  checkpoint: StoreCheckpoint;
  groupCommit: GroupCommitService;
  dispatcher: Dispatcher;
  /** Store time of the last written record (the checkpoint's timestamps). */
  lastStoreTimestamp: () => number;
}

export class IntervalFlushService {
  readonly name = 'IntervalFlushService';
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastCheckpoint: CheckpointData | null = null;
  /** Offsets the derived files are durable to, measured before their fsyncs start. */
  private derivedFlushed = { consumeQueue: 0, index: 0 };

  constructor(private readonly parts: FlushedParts, private readonly intervalMs: number) {}

  start(): void {
    this.timer = setInterval(() => void this.flushRound(), this.intervalMs);
    this.timer.unref();
  }

  /** No more rounds; one in flight goes on (see `inFlight`). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The round in flight, if any (close waits for it). */
  get inFlight(): Promise<void> | null {
    return this.running;
  }

  /** Fsyncs consume queues and index up to what is dispatched now. */
  async flushDerived(): Promise<void> {
    const { dispatcher, queues, index } = this.parts;
    const target = dispatcher.dispatchedOffset;
    let allCommitted = true;
    const dirty: ConsumeQueue[] = [];
    for (const cq of queues.all()) {
      if (cq.commit()) allCommitted = false;
      if (cq.isDirty) dirty.push(cq);
    }
    // A few at a time: they share libuv's four threads with everything else.
    for (let i = 0; i < dirty.length; i += 4) {
      await Promise.all(dirty.slice(i, i + 4).map((cq) => cq.flush()));
    }
    if (allCommitted) this.derivedFlushed.consumeQueue = Math.max(this.derivedFlushed.consumeQueue, target);
    index.writeDirty();
    await index.fsync();
    this.derivedFlushed.index = Math.max(this.derivedFlushed.index, target);
  }

  /** A cut of the log's tail (replication): the derived files are durable at most up to the cut. */
  lowerDerivedTo(offset: number): void {
    this.derivedFlushed = { consumeQueue: Math.min(this.derivedFlushed.consumeQueue, offset), index: Math.min(this.derivedFlushed.index, offset) };
  }

  /** Writes the checkpoint now; while opening, recovery has made every derived file whole to the log's end. */
  writeCheckpointSync(): void {
    if (this.parts.lifecycle.state === 'OPENING') {
      const end = this.parts.commitLog.maxOffset;
      this.derivedFlushed = { consumeQueue: end, index: end };
    }
    const data = this.checkpointData();
    this.parts.checkpoint.writeSync(data);
    this.lastCheckpoint = data;
  }

  /** Writes the checkpoint with the fsyncs on the thread pool (an explicit flush). */
  writeCheckpoint(): Promise<void> {
    return this.parts.checkpoint.write(this.checkpointData());
  }

  private flushRound(): Promise<void> {
    if (this.running || this.parts.lifecycle.state !== 'OPEN') return this.running ?? Promise.resolve();
    const run = async (): Promise<void> => {
      try {
        await this.parts.commitLog.flush();
        this.parts.groupCommit.settle();
        await this.flushDerived();
        const data = this.checkpointData();
        const last = this.lastCheckpoint;
        if (
          !last ||
          last.commitLogFlushedOffset !== data.commitLogFlushedOffset ||
          last.consumeQueueFlushedOffset !== data.consumeQueueFlushedOffset ||
          last.indexFlushedOffset !== data.indexFlushedOffset
        ) {
          await this.parts.checkpoint.write(data);
          this.lastCheckpoint = data;
        }
      } catch (e) {
        log.error(`flush: ${(e as Error).message}`);
      } finally {
        this.running = null;
      }
    };
    this.running = run();
    return this.running;
  }

  private checkpointData(): CheckpointData {
    const cl = this.parts.commitLog.flushedOffset;
    const storeTimestamp = this.parts.lastStoreTimestamp();
    return {
      physicMsgTimestamp: storeTimestamp,
      commitLogFlushedOffset: cl,
      consumeQueueFlushedOffset: Math.min(this.derivedFlushed.consumeQueue, cl),
      indexFlushedOffset: Math.min(this.derivedFlushed.index, cl),
      logicsMsgTimestamp: storeTimestamp,
      indexMsgTimestamp: storeTimestamp,
    };
  }
}
