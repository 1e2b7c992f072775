/**
 * SYNC flush: a SYNC put is answered once an fsync covers its record. Upstream:
 * `CommitLog.GroupCommitService`. One fsync runs at a time and covers every record written
 * before it started, so a burst of puts shares one fsync. A failed fsync answers every waiting
 * put FLUSH_DISK_TIMEOUT with the error; a watchdog answers puts still uncovered after
 * `syncFlushTimeoutMs` FLUSH_DISK_TIMEOUT (the record stays written: an indeterminate send).
 */
import type { CommitLog } from '../commit-log.js';
import type { PendingPut } from '../store-types.js';

export class GroupCommitService {
  readonly name = 'GroupCommitService';
  private waiters: PendingPut[] = [];
  private inFlight = false;
  private watchdog: NodeJS.Timeout | null = null;

  constructor(private readonly commitLog: CommitLog, private readonly timeoutMs: number) {}

  /** Holds a written put until an fsync covers it; `wake()` starts that fsync. */
  add(put: PendingPut): void {
    this.waiters.push(put);
  }

  /** Starts an fsync unless one is running; when it ends, starts another for puts added meanwhile. */
  wake(): void {
    if (this.inFlight || this.waiters.length === 0) return;
    this.inFlight = true;
    this.armWatchdog();
    this.commitLog.flush().then(
      () => this.settle(),
      (e: Error) => this.settle(e),
    ).finally(() => {
      this.inFlight = false;
      if (this.waiters.length > 0) this.wake();
    });
  }

  /** Answers the puts now covered by the flushed offset (or all, with the error, after a failed fsync). */
  settle(error?: Error): void {
    if (this.waiters.length === 0) return;
    const flushed = this.commitLog.flushedOffset;
    const still: PendingPut[] = [];
    for (const put of this.waiters) {
      if (error) put.resolve({ ...put.result, status: 'FLUSH_DISK_TIMEOUT', error: error.message });
      else if (put.endOffset <= flushed) put.resolve(put.result);
      else still.push(put);
    }
    this.waiters = still;
  }

  /** Close: no more timeouts (the final flush has settled what it could). */
  stop(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
  }

  /** In-process kill: waiting puts are dropped and never settle. */
  abandon(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    this.waiters = [];
  }

  private armWatchdog(): void {
    if (this.watchdog) return;
    const check = (): void => {
      this.watchdog = null;
      const now = Date.now();
      const limit = this.timeoutMs;
      const still: PendingPut[] = [];
      for (const put of this.waiters) {
        // The record stays written; only its durability is unconfirmed (an indeterminate send).
        if (now - put.enqueuedAt >= limit) put.resolve({ ...put.result, status: 'FLUSH_DISK_TIMEOUT' });
        else still.push(put);
      }
      this.waiters = still;
      if (still.length > 0) {
        this.watchdog = setTimeout(check, Math.min(limit, 1000));
        this.watchdog.unref();
      }
    };
    this.watchdog = setTimeout(check, Math.min(this.timeoutMs, 1000));
    this.watchdog.unref();
  }
}
