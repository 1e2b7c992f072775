/**
 * `npm run bench`: throughput, latency and memory through the protocol against the embedded cluster
 * (run as a child process). Workload from issue 2, so it compares with other brokers measured the
 * same way: 200,000 × 1 KiB from one producer with 256 sends in flight; consumed by one consumer
 * pulling 32 per request, pulls pipelined across queues; send latency with one in flight; end-to-end
 * latency at a steady 5,000 msgs/s for 10 s; broker RSS before/after. Median of 3 runs.
 * Then the produce phase again on a cluster started with `--flush sync` (SYNC_FLUSH: every send
 * answered after the group-commit fsync that covers it), and its ratio to the async figure; and
 * on one started with `--replication sync` (SYNC_MASTER: answered once the slave holds the message),
 * with its ratio to the async-replication figure of the main runs.
 * Figures are printed, never asserted.
 */
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { RemotingClient } from '../src-main/remoting/remoting-client.js';
import { createRequest } from '../src-main/remoting/remoting-command.js';
import { RequestCode } from '../src-main/remoting/request-code.js';
import { MQAdmin } from '../src-main/remoting/admin/mq-admin.js';
import { spawnCluster } from './cluster-process.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200_000);
const IN_FLIGHT = 256;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TOPIC = 'BenchTopic';
const BODY = Buffer.alloc(1024, 'x');

interface Queue { addr: string; brokerName: string; queueId: number }

interface RunResult {
  produceMsgsPerS: number;
  consumeMsgsPerS: number;
  sendP50Ms: number;
  sendP99Ms: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
  e2eRatePerS: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  rssGrowthPerMillionMiB: number;
  rssMarginalPerMillionMiB: number;
}

function sendRequest(q: Queue, body: Buffer): ReturnType<typeof createRequest> {
  return createRequest(RequestCode.SEND_MESSAGE_V2, {
    a: 'BENCH_PRODUCER', b: TOPIC, c: 'TBW102', d: 4, e: q.queueId, f: 0, g: Date.now(), h: 0,
    i: 'TAGS\u0001bench\u0002', j: 0, k: false, m: false,
  }, body);
}

function pullRequest(q: Queue, offset: number, suspend: boolean): ReturnType<typeof createRequest> {
  return createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: 'BENCH_CONSUMER', topic: TOPIC, queueId: q.queueId, queueOffset: offset, maxMsgNums: 32,
    sysFlag: suspend ? 0x2 | 0x4 : 0x4, commitOffset: 0, suspendTimeoutMillis: 15000, subscription: '*', subVersion: 0,
    expressionType: 'TAG',
  });
}

/** Walks stored messages in a pull body; calls back with each body (IPv4 layout, body length at 84). */
function forEachBody(buf: Buffer, cb: (body: Buffer) => void): number {
  let p = 0;
  let n = 0;
  while (p + 4 <= buf.length) {
    const size = buf.readInt32BE(p);
    if (size <= 0 || p + size > buf.length) break;
    const bodyLength = buf.readInt32BE(p + 84);
    cb(buf.subarray(p + 88, p + 88 + bodyLength));
    p += size;
    n++;
  }
  return n;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (b: number): number => b / 1024 / 1024;

/** MESSAGES sends of 1 KiB, IN_FLIGHT at a time, round robin over the queues; returns the seconds taken. */
async function producePhase(client: RemotingClient, queues: Queue[], onHalf?: () => void): Promise<number> {
  let sent = 0;
  let failed = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    let next = 0;
    const pump = (): void => {
      while (inFlight < IN_FLIGHT && next < MESSAGES) {
        const q = queues[next % queues.length]!;
        next++;
        inFlight++;
        client.invoke(q.addr, sendRequest(q, BODY), 30_000).then((res) => {
          if (res.code === 0) sent++; else failed++;
          if (sent === MESSAGES / 2) onHalf?.();
        }, () => { failed++; }).finally(() => {
          inFlight--;
          if (sent + failed === MESSAGES) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  const seconds = (performance.now() - t0) / 1000;
  if (failed > 0) throw new Error(`${failed} sends failed`);
  return seconds;
}

async function topicQueues(admin: MQAdmin): Promise<Queue[]> {
  await admin.createTopic(TOPIC, 8);
  // The brokers register the new topic with the NameServer asynchronously: wait for the route.
  let route: Awaited<ReturnType<MQAdmin['routeInfo']>> | undefined;
  for (let attempt = 0; !route; attempt++) {
    try {
      route = await admin.routeInfo(TOPIC);
    } catch (e) {
      if (attempt >= 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const queues: Queue[] = [];
  for (const qd of route.queueDatas) {
    const addr = route.brokerDatas.find((b) => b.brokerName === qd.brokerName)!.brokerAddrs['0']!;
    for (let q = 0; q < qd.writeQueueNums; q++) queues.push({ addr, brokerName: qd.brokerName, queueId: q });
  }
  return queues;
}

/** The produce phase alone on a cluster started with `--flush sync`: msgs/s. */
async function syncFlushRun(run: number): Promise<number> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mqdesk-bench-sync-'));
  const cluster = await spawnCluster(dataDir, ['--flush', 'sync']);
  const client = new RemotingClient({ defaultTimeoutMs: 30_000 });
  try {
    const queues = await topicQueues(new MQAdmin(cluster.namesrvAddr, client));
    await new Promise((r) => setTimeout(r, 500));
    const rate = MESSAGES / await producePhase(client, queues);
    console.log(`sync-flush run ${run}: produce ${rate.toFixed(0)} msgs/s`);
    return rate;
  } finally {
    client.close();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The produce phase alone on a cluster started with `--replication sync` (SYNC_MASTER: every send
 * answered once the slave reports an offset covering it): msgs/s. The main runs replicate async.
 */
async function syncReplicationRun(run: number): Promise<number> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mqdesk-bench-syncrepl-'));
  const cluster = await spawnCluster(dataDir, ['--replication', 'sync']);
  const client = new RemotingClient({ defaultTimeoutMs: 30_000 });
  try {
    const queues = await topicQueues(new MQAdmin(cluster.namesrvAddr, client));
    await new Promise((r) => setTimeout(r, 500));
    const rate = MESSAGES / await producePhase(client, queues);
    console.log(`sync-replication run ${run}: produce ${rate.toFixed(0)} msgs/s`);
    return rate;
  } finally {
    client.close();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function oneRun(run: number): Promise<RunResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mqdesk-bench-'));
  const cluster = await spawnCluster(dataDir);
  const client = new RemotingClient({ defaultTimeoutMs: 30_000 });
  const admin = new MQAdmin(cluster.namesrvAddr, client);
  try {
    const queues = await topicQueues(admin);
    await new Promise((r) => setTimeout(r, 500));
    if (global.gc) global.gc();
    const rssBefore = cluster.rssBytes();

    // 1. Produce: one producer, 256 sends in flight, round robin over every queue.
    let rssHalf = 0;
    const produceS = await producePhase(client, queues, () => { rssHalf = cluster.rssBytes(); });
    const rssAfterProduce = cluster.rssBytes();
    // Marginal growth over the second half: V8's heap sizing up to its steady state is a fixed cost,
    // not a per-message one, and would be extrapolated otherwise.
    const marginalPerMillion = mib(rssAfterProduce - rssHalf) / (MESSAGES / 2 / 1_000_000);

    // 2. Consume: one consumer, 32 per pull, one pull in flight per queue, all queues at once.
    let consumed = 0;
    const t1 = performance.now();
    await Promise.all(queues.map(async (q) => {
      let offset = 0;
      for (;;) {
        const res = await client.invoke(q.addr, pullRequest(q, offset, false), 30_000);
        if (res.code !== 0) break;
        consumed += forEachBody(res.body ?? Buffer.alloc(0), () => undefined);
        offset = Number(res.extFields?.nextBeginOffset ?? offset);
      }
    }));
    const consumeS = (performance.now() - t1) / 1000;
    if (consumed !== MESSAGES) throw new Error(`consumed ${consumed} of ${MESSAGES}`);

    // 3. Send latency, one in flight.
    const latencies: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const q = queues[i % queues.length]!;
      const s = performance.now();
      const res = await client.invoke(q.addr, sendRequest(q, BODY), 30_000);
      latencies.push(performance.now() - s);
      if (res.code !== 0) throw new Error(`send failed: ${res.remark}`);
    }
    latencies.sort((a, b) => a - b);

    // 4. End to end at a steady 5,000 msgs/s for 10 s, consumed by long polling.
    const start = new Map<string, number>();
    for (const q of queues) start.set(`${q.addr}/${q.queueId}`, Number((await admin.call(q.addr, RequestCode.GET_MAX_OFFSET, { topic: TOPIC, queueId: q.queueId })).extFields?.offset ?? 0));
    const e2e: number[] = [];
    let stopPulling = false;
    const pullers = queues.map(async (q) => {
      let offset = start.get(`${q.addr}/${q.queueId}`)!;
      while (!stopPulling) {
        const res = await client.invoke(q.addr, pullRequest(q, offset, true), 30_000);
        const now = performance.now();
        if (res.code === 0) {
          forEachBody(res.body ?? Buffer.alloc(0), (body) => e2e.push(now - body.readDoubleBE(0)));
        }
        offset = Number(res.extFields?.nextBeginOffset ?? offset);
      }
    });
    const rate = 5000;
    const durationMs = 10_000;
    const e2eStart = performance.now();
    let produced = 0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const elapsed = performance.now() - e2eStart;
        const due = Math.min(rate * durationMs / 1000, Math.floor(elapsed * rate / 1000));
        while (produced < due) {
          const q = queues[produced % queues.length]!;
          const body = Buffer.alloc(1024, 'y');
          body.writeDoubleBE(performance.now(), 0);
          client.invoke(q.addr, sendRequest(q, body), 30_000).catch(() => undefined);
          produced++;
        }
        if (produced >= rate * durationMs / 1000) {
          clearInterval(tick);
          resolve();
        }
      }, 2);
    });
    const deadline = Date.now() + 10_000;
    while (e2e.length < produced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stopPulling = true;
    // Wake the held pulls so the pullers finish.
    for (const q of queues) client.invoke(q.addr, sendRequest(q, Buffer.alloc(1024)), 30_000).catch(() => undefined);
    await Promise.all(pullers);
    e2e.sort((a, b) => a - b);
    const rssAfter = cluster.rssBytes();

    const result: RunResult = {
      produceMsgsPerS: MESSAGES / produceS,
      consumeMsgsPerS: MESSAGES / consumeS,
      sendP50Ms: percentile(latencies, 0.5),
      sendP99Ms: percentile(latencies, 0.99),
      e2eP50Ms: percentile(e2e, 0.5),
      e2eP99Ms: percentile(e2e, 0.99),
      e2eRatePerS: produced / (durationMs / 1000),
      rssBeforeMiB: mib(rssBefore),
      rssAfterMiB: mib(rssAfter),
      rssGrowthPerMillionMiB: mib(rssAfterProduce - rssBefore) / (MESSAGES / 1_000_000),
      rssMarginalPerMillionMiB: marginalPerMillion,
    };
    console.log(`run ${run}: ${JSON.stringify(Object.fromEntries(Object.entries(result).map(([k, v]) => [k, Math.round(v * 100) / 100])))}`);
    return result;
  } finally {
    client.close();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log('(Console export and resend throughput on 100,000 dead letters: `npm run bench:console`, bench/console-export.ts.)');
  console.log(`MQDesk benchmark: ${MESSAGES} messages × 1 KiB, ${IN_FLIGHT} in flight, ${RUNS} runs, ${os.cpus().length} cores, node ${process.version}`);
  const results: RunResult[] = [];
  for (let i = 1; i <= RUNS; i++) results.push(await oneRun(i));
  const keys = Object.keys(results[0]!) as Array<keyof RunResult>;
  const med = Object.fromEntries(keys.map((k) => [k, median(results.map((r) => r[k]))])) as unknown as RunResult;
  console.log('\nmedian of runs:');
  console.log(`  produce                 ${med.produceMsgsPerS.toFixed(0)} msgs/s`);
  console.log(`  consume                 ${med.consumeMsgsPerS.toFixed(0)} msgs/s`);
  console.log(`  send latency (1 in flight) p50 ${med.sendP50Ms.toFixed(3)} ms, p99 ${med.sendP99Ms.toFixed(3)} ms`);
  console.log(`  end-to-end at ${med.e2eRatePerS.toFixed(0)} msgs/s  p50 ${med.e2eP50Ms.toFixed(2)} ms, p99 ${med.e2eP99Ms.toFixed(2)} ms`);
  console.log(`  broker RSS              before ${med.rssBeforeMiB.toFixed(1)} MiB, after ${med.rssAfterMiB.toFixed(1)} MiB`);
  console.log(`  RSS growth              ${med.rssGrowthPerMillionMiB.toFixed(1)} MiB per million stored messages (whole run, from start)`);
  if (MESSAGES < 1_000_000) {
    console.log(`  (the from-start figure scales V8's one-off heap growth from ${MESSAGES} messages up to a million; `
      + 'BENCH_MESSAGES=1000000 BENCH_RUNS=1 npm run bench measures a real million)');
  }
  console.log(`  RSS growth, marginal    ${med.rssMarginalPerMillionMiB.toFixed(1)} MiB per million stored messages (second half of the produce phase)`);
  const syncRates: number[] = [];
  for (let i = 1; i <= RUNS; i++) syncRates.push(await syncFlushRun(i));
  const syncProduce = median(syncRates);
  console.log(`  produce, SYNC_FLUSH     ${syncProduce.toFixed(0)} msgs/s (same workload; each send answered after its group-commit fsync), ${(syncProduce / med.produceMsgsPerS).toFixed(2)}× async flush`);
  const syncReplRates: number[] = [];
  for (let i = 1; i <= RUNS; i++) syncReplRates.push(await syncReplicationRun(i));
  const syncReplProduce = median(syncReplRates);
  console.log(`  produce, SYNC_MASTER    ${syncReplProduce.toFixed(0)} msgs/s (same workload; each send answered once the slave holds it), ${(syncReplProduce / med.produceMsgsPerS).toFixed(2)}× async replication`);
  const outDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, `bench-${Date.now()}.json`), JSON.stringify({ runs: results, median: med, syncFlushProduce: { runs: syncRates, median: syncProduce, ratioToAsync: syncProduce / med.produceMsgsPerS }, syncReplicationProduce: { runs: syncReplRates, median: syncReplProduce, ratioToAsync: syncReplProduce / med.produceMsgsPerS } }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
