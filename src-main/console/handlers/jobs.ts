/** job:list / job:get / job:cancel / job:receipts / job:receipts-export: the resend and export jobs. */
import { ConsoleError } from '../contract/errors.js';
import type { Handler } from '../dispatch.js';
import { exportStamp, runReceiptsExport } from '../ops/dlq-jobs.js';
import { exportTarget } from './dlq.js';

export const jobList: Handler<'job:list'> = async (_req, ctx) => ctx.ops.jobs.list();

export const jobGet: Handler<'job:get'> = async (req, ctx) => ctx.ops.jobs.get(req.jobId);

export const jobCancel: Handler<'job:cancel'> = async (req, ctx) => ctx.ops.jobs.cancel(req.jobId);

export const jobReceipts: Handler<'job:receipts'> = async (req, ctx) =>
  ctx.ops.jobs.receiptPage(req.jobId, req.onlyFailed, req.offset, req.limit);

export const jobReceiptsExport: Handler<'job:receipts-export'> = (req, ctx) => ctx.ops.jobs.once(req.requestId, async () => {
  const source = await ctx.ops.jobs.get(req.jobId);
  if (source.kind !== 'dlq-resend') throw new ConsoleError('BAD_REQUEST', `Job ${req.jobId} has no receipts`);
  const target = await exportTarget(ctx, `receipts-${req.jobId}-${exportStamp()}.${req.format}`, req.format);
  return ctx.ops.jobs.start({
    kind: 'receipts-export', connectionId: source.connectionId, group: source.group, requestId: req.requestId, rateLimit: null,
    target: req.jobId, format: req.format, total: source.done + source.skipped, withReceipts: false,
  }, (job) => runReceiptsExport(job, req.jobId, req.format, target, ctx.ops));
});
