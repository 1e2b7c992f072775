/**
 * `npm run bench:console`: how the console holds up (issue 4, "How it must be shown"). Figures are
 * printed, never asserted.
 *
 * 1. Event-loop delay of the headless host while the embedded cluster it runs in-process (as the
 *    Electron main process does) takes 20,000 msgs/s with SYNC flush: this process is the host
 *    (cluster + console service + HTTP/WebSocket server); the load comes from a child process
 *    (bench/console-load.ts) so its CPU is not counted here. perf_hooks.monitorEventLoopDelay,
 *    p50/p99/max, plus the latency of cluster:overview through the console API meanwhile.
 * 2. Time for the console API (message:browse) to return a page of 100 messages from a queue
 *    holding 1,000,000: at its start, middle and end; in-process dispatch and over the WebSocket.
 * 3. Time for topic:list with 5,000 topics.
 * 4. Idle RSS and CPU of the headless console (`mqdesk serve`, its own process) with the embedded
 *    cluster running and no page open, then with one page polling the Overview every 5 s.
 *
 * Env: BENCH_RATES (5000,10000,20000: the delay is measured at each, the last is the goal's),
 * BENCH_LOAD_SECONDS (15), BENCH_QUEUE_MESSAGES (1000000), BENCH_TOPICS (5000).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { Session } from '../src-main/console/dispatch.js';

// Broker INFO lines (one per topic registration) would bury the figures.
process.env['MQDESK_LOG'] ??= 'warn';
const { startCluster } = await import('../src-main/broker/cluster/cluster.js');
const { ConsoleService } = await import('../src-main/console/service.js');
const { startConsoleServer } = await import('../src-main/server/http-server.js');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RATES = (process.env['BENCH_RATES'] ?? '5000,10000,20000').split(',').map(Number);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 15);
const QUEUE_MESSAGES = Number(process.env.BENCH_QUEUE_MESSAGES ?? 1_000_000);
const TOPICS = Number(process.env.BENCH_TOPICS ?? 5_000);

const ms = (ns: number): string => (ns / 1e6).toFixed(1);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
};
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0);

function runLoad(args: string[]): Promise<Record<string, number | string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/console-load.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MQDESK_LOG: 'warn' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`load child exited ${code}: ${err || out}`));
      else resolve(JSON.parse(line) as Record<string, number | string>);
    });
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [performance.now() - t0, r];
}

/** One JSON-RPC call over an open socket. */
function rpc(ws: WebSocket, id: number, method: string, params: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id !== id) return;
      ws.off('message', onMessage);
      if (msg.error) reject(new Error(msg.error.message));
      else resolve(msg.result);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
}

function procStats(pid: number): { rss: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rss, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

async function hostUnderLoad(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mqdesk-console-bench-'));
  const cluster = await startCluster({ dataDir: path.join(dataDir, 'cluster'), namesrvPort: 0, flushMode: 'SYNC' });
  const service = await ConsoleService.create({
    dataDir: path.join(dataDir, 'console'), embeddedNamesrvAddr: cluster.namesrvAddr, mode: 'headless', version: 'bench',
  });
  service.attachEmbedded(cluster);
  const server = await startConsoleServer({ service, rendererDir: path.join(root, 'out/renderer'), port: 0, log: () => undefined });
  const session: Session = service.openSession(() => undefined, 'bench');
  const call = async (channel: string, req: unknown): Promise<unknown> => {
    const r = await service.dispatch(channel, req, session);
    if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
    return r.result;
  };
  try {
    console.log(`host: embedded cluster (SYNC flush, 2 groups × master+slave) + console + HTTP/WebSocket in this process (pid ${process.pid})`);

    // 1. Event-loop delay under load.
    await call('topic:create', { topic: 'BenchLoad', readQueueNums: 8, writeQueueNums: 8 });
    await new Promise((r) => setTimeout(r, 1000));
    for (const RATE of RATES) {
      const histogram = monitorEventLoopDelay({ resolution: 10 });
      const overviewMs: number[] = [];
      let polling = true;
      const poll = (async () => {
        while (polling) {
          overviewMs.push((await timed(() => call('cluster:overview', {})))[0]);
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      histogram.enable();
      const cpu0 = process.cpuUsage();
      const load = await runLoad(['rate', cluster.namesrvAddr, 'BenchLoad', String(RATE), String(LOAD_SECONDS), '1024']);
      histogram.disable();
      const cpu = process.cpuUsage(cpu0);
      polling = false;
      await poll;
      console.log(`\n1. event-loop delay of the host while the cluster takes ${RATE} msgs/s (1 KiB, SYNC flush) for ${LOAD_SECONDS} s`);
      console.log(`   load achieved: ${Number(load['achieved']).toFixed(0)} msgs/s (${load['sent']} sent, ${load['failed']} failed, max ${load['maxInFlight']} in flight)`);
      console.log(`   event-loop delay: p50 ${ms(histogram.percentile(50))} ms, p99 ${ms(histogram.percentile(99))} ms, max ${ms(histogram.max)} ms`
        + ` (${histogram.percentile(99) / 1e6 <= 50 ? 'under' : 'OVER'} the 50 ms goal)`);
      console.log(`   host CPU meanwhile: ${((cpu.user + cpu.system) / 1e6 / Number(load['seconds']) * 100).toFixed(0)}% of one core`);
      console.log(`   cluster:overview through the console API meanwhile: p50 ${median(overviewMs).toFixed(1)} ms, p99 ${pct(overviewMs, 0.99).toFixed(1)} ms (${overviewMs.length} calls)`);
    }

    // 2. A page of 100 from a queue of 1,000,000: a topic with one queue on broker-a only.
    const adminA = service.connections.get('embedded').admin;
    const masterA = (await adminA.masterAddrs()).find((m) => m.brokerName === 'broker-a')!;
    await adminA.call(masterA.addr, 17, {
      topic: 'BenchMillion', defaultTopic: 'TBW102', readQueueNums: 1, writeQueueNums: 1, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const fill = await runLoad(['fill', cluster.namesrvAddr, 'BenchMillion', String(QUEUE_MESSAGES), '100']);
    const brokerOfQueue = ((await call('topic:detail', { topic: 'BenchMillion' })) as { queues: Array<{ brokerName: string; maxOffset: number }> })
      .queues.find((q) => q.maxOffset > 0)!;
    // The fill spreads over both masters' queue 0: browse the fuller one.
    const detail = (await call('topic:detail', { topic: 'BenchMillion' })) as { queues: Array<{ brokerName: string; queueId: number; maxOffset: number }> };
    const fullest = detail.queues.reduce((a, q) => (q.maxOffset > a.maxOffset ? q : a), brokerOfQueue as { brokerName: string; queueId: number; maxOffset: number });
    console.log(`\n2. message:browse, a page of 100 from one queue (${fullest.brokerName}/${fullest.queueId} holds ${fullest.maxOffset.toLocaleString()}; filled at ${Number(fill['achieved']).toFixed(0)} msgs/s)`);
    const token = server.token;
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/rpc?token=${token}`, { origin: server.origin });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    let id = 1;
    for (const [label, from] of [['start', 0], ['middle', Math.floor(fullest.maxOffset / 2)], ['end', Math.max(0, fullest.maxOffset - 100)]] as const) {
      const inProcess: number[] = [];
      const overWs: number[] = [];
      let got = 0;
      for (let i = 0; i < 5; i++) {
        const [t, r] = await timed(() => call('message:browse', { topic: 'BenchMillion', brokerName: fullest.brokerName, queueId: fullest.queueId, fromOffset: from, count: 100 }));
        inProcess.push(t);
        got = (r as { messages: unknown[] }).messages.length;
        overWs.push((await timed(() => rpc(ws, id++, 'message:browse', { topic: 'BenchMillion', brokerName: fullest.brokerName, queueId: fullest.queueId, fromOffset: from, count: 100 })))[0]);
      }
      console.log(`   at the ${label} (offset ${from.toLocaleString()}): ${got} rows, median ${median(inProcess).toFixed(1)} ms in-process, ${median(overWs).toFixed(1)} ms over the WebSocket`);
    }

    // 3. topic:list with 5,000 topics.
    const admin = service.connections.get('embedded').admin;
    const masters = await admin.masterAddrs();
    const tCreate = performance.now();
    for (let i = 0; i < TOPICS; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, TOPICS - i) }, (_, k) => Promise.all(masters.map((m) => admin.call(m.addr, 17, {
        topic: `BenchT${String(i + k).padStart(5, '0')}`, defaultTopic: 'TBW102', readQueueNums: 4, writeQueueNums: 4, perm: 6,
        topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
      })))));
    }
    const createdIn = (performance.now() - tCreate) / 1000;
    await new Promise((r) => setTimeout(r, 2000)); // brokers re-register their topic tables with the NameServer
    const listMs: number[] = [];
    let listed = 0;
    for (let i = 0; i < 5; i++) {
      const [t, r] = await timed(() => call('topic:list', {}));
      listMs.push(t);
      listed = (r as { topics: unknown[] }).topics.length;
    }
    const wsListMs: number[] = [];
    for (let i = 0; i < 3; i++) wsListMs.push((await timed(() => rpc(ws, id++, 'topic:list', {})))[0]);
    console.log(`\n3. topic:list with ${listed.toLocaleString()} topics (created in ${createdIn.toFixed(1)} s): median ${median(listMs).toFixed(0)} ms in-process, ${median(wsListMs).toFixed(0)} ms over the WebSocket`);
    ws.close();
  } finally {
    await server.close();
    await service.close();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function idleFootprint(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mqdesk-console-idle-'));
  // One node process with tsx's loader, so /proc/<pid> is the console itself.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src-main/server/cli.ts'), '--namesrv-port', '0', '--console-port', '0',
    '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MQDESK_LOG: 'warn' } });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no Console: line in 90 s: ${out}`)), 90_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^Console: (\S+)$/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    const hz = 100; // USER_HZ on Linux
    const sample = async (seconds: number): Promise<{ rss: number; cpu: number }> => {
      const a = procStats(child.pid!);
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const b = procStats(child.pid!);
      return { rss: b.rss, cpu: (b.cpuTicks - a.cpuTicks) / hz / seconds * 100 };
    };
    await new Promise((r) => setTimeout(r, 10_000)); // settle after start
    const idle = await sample(30);
    console.log('\n4. headless console (`mqdesk serve`: cluster of 1 NameServer + 2×(master+slave) + console + web server), own process');
    console.log(`   idle, no page open: RSS ${mib(idle.rss)} MiB, CPU ${idle.cpu.toFixed(1)}% of one core (30 s)`);
    const origin = new URL(url).origin;
    const ws = new WebSocket(`ws://${new URL(url).host}/rpc?token=${new URL(url).searchParams.get('token')}`, { origin });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    let id = 1;
    const timer = setInterval(() => void rpc(ws, id++, 'cluster:overview', {}).catch(() => undefined), 5000);
    const withPage = await sample(30);
    clearInterval(timer);
    ws.close();
    console.log(`   one page polling the Overview every 5 s: RSS ${mib(withPage.rss)} MiB, CPU ${withPage.cpu.toFixed(1)}% of one core (30 s)`);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await hostUnderLoad();
await idleFootprint();
process.exit(0);
