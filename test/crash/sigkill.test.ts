/**
 * kill -9 (reference T1): the embedded cluster runs as a child process; a real client
 * (RemotingClient, SEND_MESSAGE_V2 over TCP) keeps up to WINDOW of 20,000 sends in flight to
 * broker-a; part-way the process gets SIGKILL; it is started again on the same data directory and
 * every queue is pulled from offset 0.
 *
 * Sends are sorted like a Jepsen history: ok (SUCCESS), fail (an error code), info (a warning
 * status, or no answer: the connection died). Oracle: every ok send is present and byte-identical
 * (body, queue, queue offset, offset msgId): lost = 0; nothing is read that was never sent:
 * unexpected = 0. With ASYNC_FLUSH too: a send is answered once its bytes are with the operating
 * system, and a process crash does not lose the page cache.
 *
 * SEED=n replays the kill point and the bodies.
 */
import { describe, expect, it } from 'vitest';
import { RemotingClient } from '../../src-main/remoting/remoting-client.js';
import { createRequest } from '../../src-main/remoting/remoting-command.js';
import { RequestCode } from '../../src-main/remoting/request-code.js';
import { MQAdmin } from '../../src-main/remoting/admin/mq-admin.js';
import { decodeMessages } from '../../src-main/broker/store/message-codec.js';
import { tempDir } from '../harness/temp-dir.js';
import { startClusterChild, type ClusterChild } from './cluster-child.js';
import { intIn, mulberry32, seedFromEnv } from './support.js';

const TOTAL = Number(process.env.SIGKILL_SENDS ?? 20_000);
const WINDOW = 1000;
const TOPIC = 'CrashTopic';
const QUEUES = 8;

type Phase = 'invoke' | 'ok' | 'fail' | 'info';
interface Op {
  id: number;
  body: Buffer;
  queueId: number;
  phase: Phase;
  code?: number;
  queueOffset?: number;
  msgId?: string;
}

function sendRequest(op: Op): ReturnType<typeof createRequest> {
  return createRequest(RequestCode.SEND_MESSAGE_V2, {
    a: 'CRASH_PRODUCER', b: TOPIC, c: 'TBW102', d: 4, e: op.queueId, f: 0, g: Date.now(), h: 0,
    i: `KEYS\u0001k-${op.id}\u0002TAGS\u0001crash\u0002`, j: 0, k: false, m: false,
  }, op.body);
}

async function pullQueue(client: RemotingClient, addr: string, queueId: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const res = await client.invoke(addr, createRequest(RequestCode.PULL_MESSAGE, {
      consumerGroup: 'CRASH_CHECKER', topic: TOPIC, queueId, queueOffset: offset, maxMsgNums: 32,
      sysFlag: 0x4, commitOffset: 0, suspendTimeoutMillis: 0, subscription: '*', subVersion: 0, expressionType: 'TAG',
    }), 10_000);
    if (res.code !== 0 || !res.body) break;
    parts.push(res.body);
    const next = Number(res.extFields?.nextBeginOffset ?? offset);
    if (next <= offset) break;
    offset = next;
  }
  return Buffer.concat(parts);
}

async function runCrash(flush: 'sync' | 'async'): Promise<void> {
  const seed = seedFromEnv();
  const rng = mulberry32(seed);
  const dir = tempDir(`sigkill-${flush}`);
  let cluster: ClusterChild | null = null;
  let client = new RemotingClient({ defaultTimeoutMs: 15_000 });
  try {
    cluster = await startClusterChild(dir.path, ['--flush', flush]);
    const admin = new MQAdmin(cluster.namesrvAddr, client);
    await admin.createTopic(TOPIC, QUEUES);
    const addr = cluster.brokers.get('broker-a-0') as string;
    expect(addr).toBeTruthy();

    const ops: Op[] = [];
    const killAfterOk = intIn(rng, Math.floor(TOTAL * 0.2), Math.floor(TOTAL * 0.7));
    let ok = 0;
    let killed = false;
    let killAt = 0;
    const started = Date.now();
    const victim: ClusterChild = cluster;
    await new Promise<void>((resolve) => {
      let inFlight = 0;
      let next = 0;
      const settle = (): void => {
        inFlight--;
        if (!killed) pump();
        if (inFlight === 0 && (killed || next >= TOTAL)) resolve();
      };
      const pump = (): void => {
        while (!killed && inFlight < WINDOW && next < TOTAL) {
          const id = next++;
          const body = Buffer.alloc(intIn(rng, 64, 1024));
          body.write(`k-${id}:`, 'latin1');
          for (let i = 12; i < body.length; i++) body[i] = Math.floor(rng() * 256);
          const op: Op = { id, body, queueId: id % QUEUES, phase: 'invoke' };
          ops.push(op);
          inFlight++;
          client.invoke(addr, sendRequest(op), 15_000).then((res) => {
            if (res.code === 0) {
              op.phase = 'ok';
              op.queueOffset = Number(res.extFields?.queueOffset);
              op.msgId = res.extFields?.msgId;
              ok++;
            } else {
              // FLUSH_DISK_TIMEOUT (10) and the slave warnings are indeterminate; other codes failed.
              op.phase = [10, 11, 12].includes(res.code) ? 'info' : 'fail';
              op.code = res.code;
            }
            if (!killed && ok >= killAfterOk) {
              killed = true;
              killAt = Date.now();
              void victim.kill('SIGKILL');
            }
            settle();
          }, () => {
            op.phase = 'info'; // no answer: the process died with it in flight
            settle();
          });
        }
      };
      pump();
    });
    const exit = await victim.kill('SIGKILL');
    client.close();

    // Same data directory, new process (new ports).
    cluster = await startClusterChild(dir.path, ['--flush', flush]);
    client = new RemotingClient({ defaultTimeoutMs: 15_000 });
    const addr2 = cluster.brokers.get('broker-a-0') as string;
    const byQueueOffset = new Map<string, Buffer>();
    const pulled: Buffer[] = [];
    let unexpected = 0;
    const pulledIds = new Set<number>();
    for (let q = 0; q < QUEUES; q++) {
      for (const m of decodeMessages(await pullQueue(client, addr2, q))) {
        byQueueOffset.set(`${m.queueId}@${m.queueOffset}`, m.body);
        pulled.push(m.body);
        const id = Number(/^k-(\d+):/.exec(m.body.toString('latin1', 0, 12))?.[1] ?? -1);
        const op = ops[id];
        pulledIds.add(id);
        if (!op || !op.body.equals(m.body) || op.queueId !== m.queueId || (op.phase === 'ok' && (op.queueOffset !== m.queueOffset || op.msgId !== m.msgId))) {
          unexpected++;
        }
      }
    }
    const count = (p: Phase): number => ops.filter((o) => o.phase === p).length;
    const okOps = ops.filter((o) => o.phase === 'ok');
    const lost = okOps.filter((o) => !byQueueOffset.get(`${o.queueId}@${o.queueOffset}`)?.equals(o.body)).length;
    const infoRecovered = ops.filter((o) => o.phase === 'info' && pulledIds.has(o.id)).length;
    console.log(`SIGKILL, ${flush.toUpperCase()}_FLUSH (seed ${seed}): ${ops.length} sends issued (up to ${WINDOW} in flight), killed after ${killAt - started} ms at ${okOps.length} acknowledged (exit ${exit});` +
      ` acknowledged ${count('ok')}, failed ${count('fail')}, indeterminate ${count('info')} (${infoRecovered} of them stored); after restart read ${pulled.length}: lost ${lost}, unexpected ${unexpected}`);
    expect(killed).toBe(true);
    expect(lost).toBe(0);
    expect(unexpected).toBe(0);
    expect(count('ok')).toBeGreaterThanOrEqual(killAfterOk);
  } finally {
    client.close();
    if (cluster) await cluster.kill('SIGKILL');
    dir.remove();
  }
}

describe('kill -9 of the broker process', () => {
  it('SYNC_FLUSH: every acknowledged send survives, byte-identical', async () => {
    await runCrash('sync');
  }, 180_000);

  it('ASYNC_FLUSH: a process crash loses nothing either (acknowledged once written to the OS)', async () => {
    await runCrash('async');
  }, 180_000);
});
