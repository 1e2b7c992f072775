/**
 * Load generator for bench/console-bench.ts, run as its own process so its CPU is not counted in
 * the host it loads. `rate` mode: SEND_MESSAGE_V2 at a fixed rate (messages/s) for some seconds,
 * round robin over the topic's write queues. `fill` mode: `count` sends as fast as 256 in flight
 * allow (one queue of a topic filled to a million). Prints one JSON line with what it achieved.
 *   tsx bench/console-load.ts rate <namesrv> <topic> <perSecond> <seconds> <bodyBytes>
 *   tsx bench/console-load.ts fill <namesrv> <topic> <count> <bodyBytes>
 */
import { performance } from 'node:perf_hooks';
import { RemotingClient } from '../src-main/remoting/remoting-client.js';
import { createRequest } from '../src-main/remoting/remoting-command.js';
import { RequestCode } from '../src-main/remoting/request-code.js';
import { MQAdmin } from '../src-main/remoting/admin/mq-admin.js';

interface Queue { addr: string; queueId: number }

const [mode, namesrv, topic, a, b, c] = process.argv.slice(2);
const client = new RemotingClient({ defaultTimeoutMs: 30_000 });
const admin = new MQAdmin(namesrv!, client);

function send(q: Queue, body: Buffer): Promise<boolean> {
  const request = createRequest(RequestCode.SEND_MESSAGE_V2, {
    a: 'BENCH_CONSOLE_PRODUCER', b: topic, c: 'TBW102', d: 4, e: q.queueId, f: 0, g: Date.now(), h: 0,
    i: 'TAGS\u0001bench\u0002', j: 0, k: false, m: false,
  }, body);
  return client.invoke(q.addr, request, 30_000).then((res) => res.code === 0, () => false);
}

async function queues(): Promise<Queue[]> {
  const route = await admin.routeInfo(topic!);
  const out: Queue[] = [];
  for (const qd of route.queueDatas) {
    const addr = route.brokerDatas.find((x) => x.brokerName === qd.brokerName)!.brokerAddrs['0']!;
    for (let q = 0; q < qd.writeQueueNums; q++) out.push({ addr, queueId: q });
  }
  return out;
}

async function rate(perSecond: number, seconds: number, body: Buffer): Promise<void> {
  const qs = await queues();
  const tickMs = 10;
  const total = perSecond * seconds;
  let issued = 0;
  let ok = 0;
  let failed = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * perSecond));
      while (issued < due && inFlight < 4096) {
        const q = qs[issued % qs.length]!;
        issued++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        void send(q, body).then((good) => {
          if (good) ok++; else failed++;
          inFlight--;
          if (ok + failed === total) resolve();
        });
      }
      if (issued >= total) clearInterval(timer);
    }, tickMs);
  });
  const elapsed = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ mode: 'rate', target: perSecond, sent: ok, failed, seconds: elapsed, achieved: ok / elapsed, maxInFlight }));
}

async function fill(count: number, body: Buffer): Promise<void> {
  const qs = await queues();
  let next = 0;
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const pump = (): void => {
      while (inFlight < 256 && next < count) {
        const q = qs[next % qs.length]!;
        next++;
        inFlight++;
        void send(q, body).then((good) => {
          if (good) ok++; else failed++;
          inFlight--;
          if (ok + failed === count) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  const elapsed = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ mode: 'fill', sent: ok, failed, seconds: elapsed, achieved: ok / elapsed }));
}

try {
  if (mode === 'rate') await rate(Number(a), Number(b), Buffer.alloc(Number(c ?? 1024), 'x'));
  else if (mode === 'fill') await fill(Number(a), Buffer.alloc(Number(b ?? 100), 'x'));
  else throw new Error(`unknown mode ${mode}`);
} finally {
  client.close();
}
