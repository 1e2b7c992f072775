/**
 * The backlog migration wizard's state machine (remedy B), pure so it can be tested alone.
 *
 *   snapshotting → creating-topic → forwarding → draining ─(restore)→ verifying → restoring → done
 *        └──────────────┴───────────────┴────────────┴──(cancel)→ cancelling → cancelled
 *   any active state ─(error)→ failed ─(retry)→ the state it failed in
 *
 * `paused` is orthogonal: a paused job keeps its state and the runner does nothing until resumed.
 * Restoring (deleting the temporary topic) cannot be cancelled half way; a failed job can be
 * cancelled (its offsets are put back to the snapshot).
 */
import type { MigrationJob, MigrationState } from '../contract/ops-dto.js';

export type MigrationAction = 'pause' | 'resume' | 'cancel' | 'restore' | 'retry';

export const FLOW: readonly MigrationState[] = ['snapshotting', 'creating-topic', 'forwarding', 'draining', 'verifying', 'restoring', 'done'];
export const TERMINAL: ReadonlySet<MigrationState> = new Set(['done', 'cancelled']);
const CANCELLABLE: ReadonlySet<MigrationState> = new Set(['snapshotting', 'creating-topic', 'forwarding', 'draining', 'verifying', 'failed']);

export function isActive(state: MigrationState): boolean {
  return !TERMINAL.has(state) && state !== 'failed';
}

/** The state after a step finished. draining only moves on through restore (or autoRestore). */
export function stepDone(state: MigrationState): MigrationState {
  switch (state) {
    case 'snapshotting': return 'creating-topic';
    case 'creating-topic': return 'forwarding';
    case 'forwarding': return 'draining';
    case 'draining': return 'verifying';
    case 'verifying': return 'restoring';
    case 'restoring': return 'done';
    case 'cancelling': return 'cancelled';
    case 'done':
    case 'cancelled':
    case 'failed':
      return state;
    default: {
      const never: never = state;
      return never;
    }
  }
}

export function allowedActions(job: Pick<MigrationJob, 'state' | 'paused' | 'tempLag'>): MigrationAction[] {
  const out: MigrationAction[] = [];
  if (isActive(job.state) && job.state !== 'cancelling') out.push(job.paused ? 'resume' : 'pause');
  if (CANCELLABLE.has(job.state)) out.push('cancel');
  if (job.state === 'draining' && job.tempLag === 0) out.push('restore');
  if (job.state === 'failed') out.push('retry');
  return out;
}

export type ActionOutcome = { ok: true; patch: Partial<MigrationJob> } | { ok: false; reason: string };

/** What an action changes, or why it is refused in this state. */
export function applyAction(job: Pick<MigrationJob, 'state' | 'paused' | 'tempLag' | 'failedIn'>, action: MigrationAction): ActionOutcome {
  if (!allowedActions(job).includes(action)) {
    if (action === 'restore' && job.state === 'draining') {
      return { ok: false, reason: `the temporary topic still has ${job.tempLag ?? 'an unknown number of'} messages not consumed; restore deletes it` };
    }
    return { ok: false, reason: `"${action}" is not possible while the job is ${job.paused ? 'paused in ' : ''}${job.state}` };
  }
  switch (action) {
    case 'pause': return { ok: true, patch: { paused: true } };
    case 'resume': return { ok: true, patch: { paused: false } };
    case 'cancel': return { ok: true, patch: { state: 'cancelling', paused: false, failedIn: job.state === 'failed' ? job.failedIn : job.state } };
    case 'restore': return { ok: true, patch: { state: 'verifying' } };
    case 'retry': return { ok: true, patch: { state: job.failedIn ?? 'snapshotting', failedIn: null, error: null, paused: false } };
    default: {
      const never: never = action;
      return never;
    }
  }
}

/** An error in `state`: the job stops there and can be retried. */
export function failed(state: MigrationState, error: string): Partial<MigrationJob> {
  return { state: 'failed', failedIn: state, error };
}
