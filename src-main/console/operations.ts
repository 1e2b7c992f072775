/**
 * Long calls a page can follow and cancel. A request that carries an `opId` gets an AbortSignal
 * (scans check it through their Budget and stop with `stoppedBy: 'cancelled'`, keeping what they
 * found) and a progress reporter that sends `op:progress` events to that page, at most every
 * PROGRESS_INTERVAL_MS. `op:cancel` aborts the page's operation with that id; closing the page
 * aborts all of its operations.
 */
import type { OpProgress } from './contract/admin-dto.js';
import type { Session } from './dispatch.js';

const PROGRESS_INTERVAL_MS = 150;
/** A page cannot hold more running operations than this (each is one request in flight). */
export const MAX_OPS_PER_SESSION = 32;

export interface RunningOp {
  signal: AbortSignal;
  progress(done: number, total: number | null, step?: string | null): void;
}

interface Entry {
  controller: AbortController;
  session: Session;
  lastSent: number;
  pending: OpProgress | null;
  timer: NodeJS.Timeout | null;
}

export class OperationRegistry {
  private readonly ops = new Map<string, Entry>();

  private key(sessionId: string, opId: string): string {
    return `${sessionId}\u0000${opId}`;
  }

  /** Registers a call; the returned `end` must run when it finishes. Null when the id is already running. */
  begin(session: Session, opId: string): { op: RunningOp; end(): void } | null {
    const key = this.key(session.id, opId);
    if (this.ops.has(key)) return null;
    if ([...this.ops.values()].filter((e) => e.session.id === session.id).length >= MAX_OPS_PER_SESSION) return null;
    const entry: Entry = { controller: new AbortController(), session, lastSent: 0, pending: null, timer: null };
    this.ops.set(key, entry);
    const flush = (): void => {
      entry.timer = null;
      if (!entry.pending) return;
      entry.lastSent = Date.now();
      const payload = entry.pending;
      entry.pending = null;
      try {
        session.emit('op:progress', payload);
      } catch {
        // the page went away
      }
    };
    const op: RunningOp = {
      signal: entry.controller.signal,
      progress: (done, total, step = null) => {
        entry.pending = { opId, done, total, step };
        const wait = PROGRESS_INTERVAL_MS - (Date.now() - entry.lastSent);
        if (wait <= 0) flush();
        else if (!entry.timer) {
          entry.timer = setTimeout(flush, wait);
          entry.timer.unref?.();
        }
      },
    };
    return {
      op,
      end: () => {
        if (entry.timer) clearTimeout(entry.timer);
        flush();
        this.ops.delete(key);
      },
    };
  }

  cancel(sessionId: string, opId: string): boolean {
    const entry = this.ops.get(this.key(sessionId, opId));
    if (!entry) return false;
    entry.controller.abort();
    return true;
  }

  cancelSession(sessionId: string): void {
    for (const entry of this.ops.values()) if (entry.session.id === sessionId) entry.controller.abort();
  }

  get size(): number {
    return this.ops.size;
  }
}
