/**
 * Pure arithmetic over lag samples: the trend ("drains in about N min" / "growing") from a least
 * squares line over the recent samples, per-sample rates, and queues whose consumer offset has not
 * moved while messages wait (stuck).
 */
import type { LagSample, LagTrend, StuckQueue } from '../contract/ops-dto.js';

export interface RawLagSample {
  at: number;
  lag: number;
  consumed: number;
  produced: number;
}

/** Rates between consecutive samples, per second (null for the first, or after a counter reset). */
export function withRates(samples: RawLagSample[]): LagSample[] {
  return samples.map((s, i) => {
    const prev = i > 0 ? samples[i - 1]! : null;
    const dt = prev ? (s.at - prev.at) / 1000 : 0;
    const rate = (a: number, b: number): number | null => (prev && dt > 0 && a >= b ? (a - b) / dt : null);
    return {
      at: s.at,
      lag: s.lag,
      consumeRate: prev ? rate(s.consumed, prev.consumed) : null,
      produceRate: prev ? rate(s.produced, prev.produced) : null,
    };
  });
}

/**
 * The trend over the last `windowMs` (10 min) and at most the last `maxSamples` samples (20: ten
 * minutes at the 30 s sampling period): least squares slope of lag against time.
 */
export function lagTrend(samples: Array<{ at: number; lag: number }>, windowMs = 10 * 60_000, maxSamples = 20): LagTrend {
  if (samples.length === 0) return { state: 'unknown', drainsInMinutes: null, slopePerMinute: null };
  const last = samples[samples.length - 1]!;
  if (last.lag === 0) return { state: 'idle', drainsInMinutes: 0, slopePerMinute: null };
  let recent = samples.filter((s) => s.at >= last.at - windowMs).slice(-maxSamples);
  if (recent.length < 2) recent = samples.slice(-2);
  if (recent.length < 2) return { state: 'unknown', drainsInMinutes: null, slopePerMinute: null };
  const n = recent.length;
  const t0 = recent[0]!.at;
  const xs = recent.map((s) => (s.at - t0) / 60_000);
  const ys = recent.map((s) => s.lag);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  if (den === 0) return { state: 'unknown', drainsInMinutes: null, slopePerMinute: null };
  const slope = num / den;
  const flat = Math.max(1, 0.005 * last.lag);
  if (Math.abs(slope) < flat) return { state: 'steady', drainsInMinutes: null, slopePerMinute: slope };
  if (slope > 0) return { state: 'growing', drainsInMinutes: null, slopePerMinute: slope };
  return { state: 'draining', drainsInMinutes: Math.max(1, Math.ceil(last.lag / -slope)), slopePerMinute: slope };
}

export interface QueueOffsetSample {
  topic: string;
  brokerName: string;
  queueId: number;
  brokerOffset: number;
  consumerOffset: number;
}

/**
 * Queues with messages waiting whose committed offset is the same in every sample of the last
 * `minDurationMs` (and before, back to `since`). Samples are oldest first.
 */
export function findStuck(history: Array<{ at: number; queues: QueueOffsetSample[] }>, minDurationMs: number): StuckQueue[] {
  const latest = history[history.length - 1];
  if (!latest) return [];
  const key = (q: QueueOffsetSample): string => `${q.topic}|${q.brokerName}|${q.queueId}`;
  const out: StuckQueue[] = [];
  for (const q of latest.queues) {
    if (q.brokerOffset <= q.consumerOffset) continue;
    let since = latest.at;
    for (let i = history.length - 2; i >= 0; i--) {
      const earlier = history[i]!.queues.find((x) => key(x) === key(q));
      if (!earlier || earlier.consumerOffset !== q.consumerOffset) break;
      since = history[i]!.at;
    }
    if (latest.at - since >= minDurationMs) {
      out.push({
        topic: q.topic, brokerName: q.brokerName, queueId: q.queueId, consumerOffset: q.consumerOffset,
        brokerOffset: q.brokerOffset, lag: q.brokerOffset - q.consumerOffset, since,
      });
    }
  }
  return out.sort((a, b) => b.lag - a.lag);
}
