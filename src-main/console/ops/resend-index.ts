/**
 * Where the console finds the resends it made. A single resend (message:resend) is a record in
 * resends.db; a bulk resend job's record is its receipts file (jobs/<id>.receipts.jsonl, one line
 * per message), so 100,000 resends cost a file, not 100,000 NeDB documents in memory. Lookups read
 * the receipts of recent resend jobs as a stream; the set of dead letters each finished job sent is
 * cached (bounded) for the dead-letter list's "resent" counts.
 */
import type { JobInfo, ResendRecord } from '../contract/ops-dto.js';
import type { JobManager } from './jobs.js';
import type { LocalTable } from './local-db.js';

/** Resend jobs looked at, newest first. */
const RECENT_JOBS = 50;
/** Source ids cached across finished jobs. */
const MAX_CACHED_IDS = 300_000;

export class ResendIndex {
  private readonly sent = new Map<string, Set<string>>();
  private cached = 0;

  constructor(private readonly jobs: JobManager, private readonly jobsTable: LocalTable<JobInfo>, private readonly singles: LocalTable<ResendRecord>) {}

  private recentJobs(): Promise<JobInfo[]> {
    return this.jobsTable.find({ kind: 'dlq-resend', succeeded: { $gt: 0 } }, { startedAt: -1 }, RECENT_JOBS);
  }

  /** Dead letters (offset ids) of one job that were sent. */
  private async sentBy(job: JobInfo): Promise<Set<string>> {
    const hit = this.sent.get(job.id);
    if (hit) return hit;
    const ids = new Set<string>();
    for await (const r of this.jobs.receipts(job.id)) if (r.status === 'sent') ids.add(r.sourceMsgId);
    if (job.state !== 'running' && ids.size <= MAX_CACHED_IDS) {
      while (this.cached + ids.size > MAX_CACHED_IDS && this.sent.size > 0) {
        const [oldest, set] = this.sent.entries().next().value as [string, Set<string>];
        this.sent.delete(oldest);
        this.cached -= set.size;
      }
      this.sent.set(job.id, ids);
      this.cached += ids.size;
    }
    return ids;
  }

  /** How many times each of these messages was resent from this console. */
  async counts(msgIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (msgIds.length === 0) return out;
    for (const r of await this.singles.find({ sourceMsgId: { $in: msgIds } })) out.set(r.sourceMsgId, (out.get(r.sourceMsgId) ?? 0) + 1);
    for (const job of await this.recentJobs()) {
      const ids = await this.sentBy(job);
      for (const id of msgIds) if (ids.has(id)) out.set(id, (out.get(id) ?? 0) + 1);
    }
    return out;
  }

  /** Resends whose source, original id or unique key is one of `ids`, oldest first. */
  async recordsFor(ids: Set<string>, limit = 200): Promise<ResendRecord[]> {
    const list = [...ids];
    const out = await this.singles.find({ $or: list.flatMap((id) => [{ originUniqKey: id }, { originMsgId: id }, { sourceMsgId: id }]) }, { at: 1 }, limit);
    for (const job of await this.recentJobs()) {
      for await (const r of this.jobs.receipts(job.id)) {
        if (r.status !== 'sent') continue;
        if (!ids.has(r.sourceMsgId) && !(r.originMsgId && ids.has(r.originMsgId)) && !(r.uniqKey && ids.has(r.uniqKey))) continue;
        out.push({
          id: `${job.id}:${r.seq}`, at: r.at, jobId: job.id, connectionId: job.connectionId, group: job.group, sourceMsgId: r.sourceMsgId,
          originMsgId: r.originMsgId, originUniqKey: r.uniqKey, targetTopic: r.targetTopic ?? '', newMsgId: r.newMsgId, newUniqKey: r.newUniqKey,
        });
        if (out.length >= limit) break;
      }
    }
    return out.sort((a, b) => a.at - b.at).slice(0, limit);
  }
}
