/**
 * `npm run bench:console`: the operator pages' bulk jobs on 100,000 dead letters, measured the way
 * a user runs them (through the console service's dispatch, over the protocol to the embedded
 * cluster running as a child process):
 * - export to JSON Lines and to CSV: messages/s, MB/s, and the console process's peak RSS above
 *   its baseline (the export streams, so it should stay flat whatever the count);
 * - resend of all of them (dry-run preview, then the job, no rate limit to speak of): messages/s and
 *   peak RSS.
 * 100,000 × 1 KiB messages are produced straight into %DLQ%<group> with RETRY_TOPIC and
 * ORIGIN_MESSAGE_ID, as a broker's DLQ holds them. BENCH_CONSOLE_MESSAGES changes the count.
 * Figures are printed and written to bench/results/console-<time>.json, never asserted.
 */
import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnCluster } from './cluster-process.js';
import { ConsoleService } from '../src-main/console/service.js';
import { createAdmin } from '../src-main/console/connection.js';
import { encodeProperties } from '../src-main/broker/store/message-codec.js';
import type { JobInfo } from '../src-main/console/contract/ops-dto.js';

const COUNT = Number(process.env.BENCH_CONSOLE_MESSAGES ?? 100_000);
const GROUP = 'GID_BENCH_DLQ';
const DLQ = `%DLQ%${GROUP}`;
const ORIGIN = 'BenchResendTopic';
const BODY = Buffer.alloc(1024, 'x');
const mib = (b: number): number => b / 1024 / 1024;

/** Samples this process's RSS every 20 ms while `fn` runs; returns its result, the peak and the baseline. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; baseline: number; peak: number }> {
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, baseline, peak };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  console.log(`MQDesk console bench: ${COUNT} dead letters × 1 KiB, ${os.cpus().length} cores, node ${process.version}`);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mqdesk-bench-console-'));
  const cluster = await spawnCluster(path.join(dataDir, 'cluster'));
  const admin = createAdmin(cluster.namesrvAddr);
  const service = await ConsoleService.create({
    dataDir: path.join(dataDir, 'console'), embeddedNamesrvAddr: cluster.namesrvAddr, mode: 'headless', version: 'bench', log: () => undefined,
  });
  const session = service.openSession(() => undefined);
  const call = async <T>(channel: string, req: unknown): Promise<T> => {
    const r = await service.dispatch(channel, req, session);
    if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
    return r.result as T;
  };
  const wait = async (id: string): Promise<JobInfo> => {
    for (;;) {
      const j = await call<JobInfo>('job:get', { jobId: id });
      if (j.state !== 'running') return j;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await admin.createTopic(DLQ, 1);
    await admin.createTopic(ORIGIN, 8);
    for (const m of await admin.masterAddrs()) await admin.upsertGroup(m.addr, { groupName: GROUP, consumeEnable: true, retryQueueNums: 1, retryMaxTimes: 16 });
    for (let i = 0; ; i++) {
      try {
        await admin.routeInfo(DLQ);
        await admin.routeInfo(ORIGIN);
        break;
      } catch (e) {
        if (i > 100) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const route = await admin.routeInfo(DLQ);
    const queues = route.queueDatas.map((q) => ({ addr: route.brokerDatas.find((b) => b.brokerName === q.brokerName)!.brokerAddrs['0']! }));
    const t0 = performance.now();
    const pending = new Set<Promise<unknown>>();
    for (let i = 0; i < COUNT; i++) {
      const id = `BENCH${String(i).padStart(27, '0')}`;
      const p = admin.sendMessage(queues[i % queues.length]!.addr, {
        producerGroup: 'PID_BENCH', topic: DLQ, queueId: 0, body: BODY,
        properties: encodeProperties({ UNIQ_KEY: id, KEYS: `bench-${i}`, TAGS: 'bench', RETRY_TOPIC: ORIGIN, ORIGIN_MESSAGE_ID: id, WAIT: 'true' }),
      }).finally(() => pending.delete(p));
      pending.add(p);
      if (pending.size >= 256) await Promise.race(pending);
    }
    await Promise.all(pending);
    console.log(`produced ${COUNT} dead letters in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const results: Record<string, unknown> = { messages: COUNT, bodyBytes: BODY.length };
    for (const format of ['jsonl', 'csv'] as const) {
      const { result: job, baseline, peak } = await withPeakRss(async () => {
        const started = await call<JobInfo>('dlq:export', { group: GROUP, selection: { kind: 'filter', filter: {} }, format, requestId: `bench-${format}` });
        return wait(started.id);
      });
      const seconds = ((job.finishedAt ?? Date.now()) - job.startedAt) / 1000;
      const file = await service.exportDownload(job.id);
      const bytes = file ? statSync(file.file).size : 0;
      const r = {
        state: job.state, exported: job.done, seconds, msgsPerS: job.done / seconds, mbPerS: mib(bytes) / seconds, fileMiB: mib(bytes),
        rssBaselineMiB: mib(baseline), rssPeakMiB: mib(peak), rssGrowthMiB: mib(peak - baseline),
      };
      results[`export-${format}`] = r;
      console.log(`export ${format.padEnd(5)} ${r.exported} messages in ${seconds.toFixed(2)} s: ${r.msgsPerS.toFixed(0)} msgs/s, ${r.mbPerS.toFixed(1)} MiB/s `
        + `(file ${r.fileMiB.toFixed(0)} MiB); RSS ${r.rssBaselineMiB.toFixed(0)} → peak ${r.rssPeakMiB.toFixed(0)} MiB (+${r.rssGrowthMiB.toFixed(0)})`);
    }

    const { result: resend, baseline, peak } = await withPeakRss(async () => {
      const preview = await call<{ matched: number; previewToken: string }>('dlq:resend-preview', { group: GROUP, selection: { kind: 'filter', filter: {} } });
      const started = await call<JobInfo>('dlq:resend', {
        group: GROUP, selection: { kind: 'filter', filter: {} }, ratePerSecond: 100_000, requestId: 'bench-resend', previewToken: preview.previewToken,
      });
      return wait(started.id);
    });
    const seconds = ((resend.finishedAt ?? Date.now()) - resend.startedAt) / 1000;
    const r = {
      state: resend.state, resent: resend.succeeded, failed: resend.failed, seconds, msgsPerS: resend.succeeded / seconds,
      rssBaselineMiB: mib(baseline), rssPeakMiB: mib(peak), rssGrowthMiB: mib(peak - baseline),
    };
    results['resend'] = r;
    console.log(`resend       ${r.resent} messages (${r.failed} failed) in ${seconds.toFixed(2)} s: ${r.msgsPerS.toFixed(0)} msgs/s; `
      + `RSS ${r.rssBaselineMiB.toFixed(0)} → peak ${r.rssPeakMiB.toFixed(0)} MiB (+${r.rssGrowthMiB.toFixed(0)}; receipts stream to a file)`);
    const outDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'results');
    mkdirSync(outDir, { recursive: true });
    const out = path.join(outDir, `console-${Date.now()}.json`);
    writeFileSync(out, JSON.stringify(results, null, 2));
    console.log(`results: ${path.relative(process.cwd(), out)}`);
  } finally {
    await service.close();
    admin.close();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
