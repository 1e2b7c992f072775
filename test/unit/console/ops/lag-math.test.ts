/** Lag trend ("drains in about N min" / "growing"), per-sample rates, stuck queues. */
import { describe, expect, it } from 'vitest';
import { findStuck, lagTrend, withRates } from '../../../../src-main/console/ops/lag-math.js';

const MIN = 60_000;

describe('lagTrend', () => {
  it('is unknown without samples, idle at zero lag', () => {
    expect(lagTrend([]).state).toBe('unknown');
    expect(lagTrend([{ at: 0, lag: 0 }])).toMatchObject({ state: 'idle', drainsInMinutes: 0 });
    expect(lagTrend([{ at: 0, lag: 5 }]).state).toBe('unknown');
  });

  it('draining: lag falls 100 per minute from 1000 → about 7 minutes left at 700', () => {
    const samples = [0, 1, 2, 3].map((i) => ({ at: i * MIN, lag: 1000 - 100 * i }));
    expect(lagTrend(samples)).toEqual({ state: 'draining', drainsInMinutes: 7, slopePerMinute: -100 });
  });

  it('growing and steady', () => {
    expect(lagTrend([0, 1, 2].map((i) => ({ at: i * MIN, lag: 100 + 50 * i }))).state).toBe('growing');
    expect(lagTrend([0, 1, 2].map((i) => ({ at: i * MIN, lag: 5000 + (i % 2) }))).state).toBe('steady');
  });

  it('uses only the last ten minutes', () => {
    const samples = [{ at: 0, lag: 0 + 10 }, { at: 30 * MIN, lag: 2000 }, { at: 31 * MIN, lag: 1800 }, { at: 32 * MIN, lag: 1600 }];
    expect(lagTrend(samples)).toMatchObject({ state: 'draining', drainsInMinutes: 8 });
  });
});

describe('withRates', () => {
  it('computes consume and produce rates per second between samples', () => {
    const r = withRates([
      { at: 0, lag: 10, consumed: 100, produced: 110 },
      { at: 10_000, lag: 0, consumed: 200, produced: 200 },
    ]);
    expect(r).toEqual([
      { at: 0, lag: 10, consumeRate: null, produceRate: null },
      { at: 10_000, lag: 0, consumeRate: 10, produceRate: 9 },
    ]);
  });

  it('gives null after a counter reset', () => {
    expect(withRates([{ at: 0, lag: 0, consumed: 100, produced: 100 }, { at: 1000, lag: 0, consumed: 5, produced: 5 }])[1]).toMatchObject({
      consumeRate: null, produceRate: null,
    });
  });
});

describe('findStuck', () => {
  const q = (consumerOffset: number, brokerOffset: number, queueId = 0) => ({ topic: 'T', brokerName: 'b', queueId, consumerOffset, brokerOffset });

  it('flags a queue whose offset did not move for the minimum duration while messages wait', () => {
    const history = [
      { at: 0, queues: [q(5, 10), q(1, 1, 1)] },
      { at: 30_000, queues: [q(5, 12), q(1, 2, 1)] },
      { at: 60_000, queues: [q(5, 14), q(2, 2, 1)] },
    ];
    expect(findStuck(history, 60_000)).toEqual([{ topic: 'T', brokerName: 'b', queueId: 0, consumerOffset: 5, brokerOffset: 14, lag: 9, since: 0 }]);
    expect(findStuck(history, 90_000)).toEqual([]);
  });

  it('does not flag a queue that moved or has nothing waiting', () => {
    expect(findStuck([{ at: 0, queues: [q(4, 10)] }, { at: 60_000, queues: [q(5, 10)] }], 30_000)).toEqual([]);
    expect(findStuck([{ at: 0, queues: [q(10, 10)] }, { at: 60_000, queues: [q(10, 10)] }], 30_000)).toEqual([]);
  });
});
