/** The migration wizard's state machine: the happy path, pause/resume, cancel, restore guard, retry. */
import { describe, expect, it } from 'vitest';
import { FLOW, allowedActions, applyAction, failed, isActive, stepDone } from '../../../../src-main/console/ops/migration-machine.js';
import type { MigrationJob, MigrationState } from '../../../../src-main/console/contract/ops-dto.js';

type J = Pick<MigrationJob, 'state' | 'paused' | 'tempLag' | 'failedIn'>;
const job = (state: MigrationState, extra: Partial<J> = {}): J => ({ state, paused: false, tempLag: null, failedIn: null, ...extra });

describe('migration state machine', () => {
  it('walks snapshot → topic → forward → drain → verify → restore → done', () => {
    let s: MigrationState = 'snapshotting';
    const seen: MigrationState[] = [s];
    while (s !== 'done') {
      s = stepDone(s);
      seen.push(s);
    }
    expect(seen).toEqual([...FLOW]);
    expect(stepDone('done')).toBe('done');
    expect(stepDone('cancelling')).toBe('cancelled');
  });

  it('pauses and resumes in every active state, not in done or cancelled', () => {
    for (const s of ['snapshotting', 'creating-topic', 'forwarding', 'draining', 'verifying', 'restoring'] as const) {
      expect(allowedActions(job(s))).toContain('pause');
      expect(applyAction(job(s), 'pause')).toEqual({ ok: true, patch: { paused: true } });
      expect(allowedActions(job(s, { paused: true }))).toContain('resume');
      expect(applyAction(job(s, { paused: true }), 'resume')).toEqual({ ok: true, patch: { paused: false } });
    }
    for (const s of ['done', 'cancelled'] as const) {
      expect(allowedActions(job(s))).toEqual([]);
      expect(applyAction(job(s), 'pause').ok).toBe(false);
    }
  });

  it('cancels before the temporary topic is deleted, not during restore', () => {
    for (const s of ['snapshotting', 'creating-topic', 'forwarding', 'draining', 'verifying'] as const) {
      expect(applyAction(job(s), 'cancel')).toEqual({ ok: true, patch: { state: 'cancelling', paused: false, failedIn: s } });
      expect(applyAction(job(s, { paused: true }), 'cancel').ok).toBe(true);
    }
    expect(applyAction(job('restoring'), 'cancel').ok).toBe(false);
    expect(applyAction(job('failed', { failedIn: 'forwarding' }), 'cancel')).toEqual({
      ok: true, patch: { state: 'cancelling', paused: false, failedIn: 'forwarding' },
    });
  });

  it('restores only a drained temporary topic', () => {
    const r = applyAction(job('draining', { tempLag: 12 }), 'restore');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/12 messages not consumed/);
    expect(applyAction(job('draining', { tempLag: 0 }), 'restore')).toEqual({ ok: true, patch: { state: 'verifying' } });
    expect(applyAction(job('forwarding', { tempLag: 0 }), 'restore').ok).toBe(false);
  });

  it('a failure stops in place and retry resumes the failed step', () => {
    expect(failed('forwarding', 'boom')).toEqual({ state: 'failed', failedIn: 'forwarding', error: 'boom' });
    expect(isActive('failed')).toBe(false);
    expect(allowedActions(job('failed', { failedIn: 'forwarding' }))).toEqual(['cancel', 'retry']);
    expect(applyAction(job('failed', { failedIn: 'forwarding' }), 'retry')).toEqual({
      ok: true, patch: { state: 'forwarding', failedIn: null, error: null, paused: false },
    });
    expect(applyAction(job('forwarding'), 'retry').ok).toBe(false);
  });
});
