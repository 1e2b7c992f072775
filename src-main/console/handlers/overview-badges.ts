/**
 * overview:badges: backlog (latest lag samples of every group, stuck queues), delay (messages
 * waiting in SCHEDULE_TOPIC_XXXX, next due) and transactions (open half messages, the oldest, and
 * discarded ones), each linking to its page. A part that fails is null with its error.
 */
import type { OverviewBadges } from '../contract/ops-dto.js';
import type { Handler } from '../dispatch.js';
import { errorText } from '../cluster-view.js';
import { findStuck } from '../ops/lag-math.js';
import { scanTransactions } from '../ops/tx-scan.js';
import { computeDelayStats } from './delay.js';

const FIRST_SAMPLE_BUDGET_MS = 4000;

export const overviewBadges: Handler<'overview:badges'> = async (req, ctx) => {
  ctx.ops.sampler.watch(req.connectionId);
  const errors: string[] = [];
  const admin = ctx.connections.get(req.connectionId).admin;
  const [backlog, delay, transactions] = await Promise.all([
    (async (): Promise<OverviewBadges['backlog']> => {
      let latest = ctx.ops.sampler.latestOfConnection(req.connectionId);
      if (latest.length === 0) {
        await Promise.race([ctx.ops.sampler.sampleConnection(req.connectionId), new Promise((r) => setTimeout(r, FIRST_SAMPLE_BUDGET_MS))]);
        latest = ctx.ops.sampler.latestOfConnection(req.connectionId);
      }
      let totalLag = 0;
      let lagging = 0;
      let worst: { group: string; lag: number } | null = null;
      let stuck = 0;
      for (const { group, snapshot } of latest) {
        totalLag += snapshot.lag;
        if (snapshot.lag > 0) lagging++;
        if (!worst || snapshot.lag > worst.lag) worst = { group, lag: snapshot.lag };
        stuck += findStuck(ctx.ops.sampler.recentQueues(req.connectionId, group), 2 * ctx.ops.sampler.intervalMs).length;
      }
      return { totalLag, groupsLagging: lagging, worstGroup: worst && worst.lag > 0 ? worst.group : null, worstLag: worst?.lag ?? 0, stuckQueues: stuck };
    })().catch((e: unknown) => {
      errors.push(`backlog: ${errorText(e)}`);
      return null;
    }),
    computeDelayStats(ctx, req.connectionId).then((s) => ({ waiting: s.totalWaiting, nextDue: s.nextDue, overdue: s.overdue })).catch((e: unknown) => {
      errors.push(`delay: ${errorText(e)}`);
      return null;
    }),
    (async (): Promise<OverviewBadges['transactions']> => {
      const scans = await scanTransactions(admin, errors);
      let pending = 0;
      let oldest: number | null = null;
      for (const s of scans) {
        for (const t of s.transactions) {
          if (t.state !== 'pending') continue;
          pending++;
          const age = Date.now() - t.copies[0]!.bornTimestamp;
          oldest = oldest === null ? age : Math.max(oldest, age);
        }
      }
      return { pending, oldestAgeMs: oldest, discarded: scans.reduce((s, b) => s + b.discardedTotal, 0) };
    })().catch((e: unknown) => {
      errors.push(`transactions: ${errorText(e)}`);
      return null;
    }),
  ]);
  return { backlog, delay, transactions, errors: errors.slice(0, 10) };
};
