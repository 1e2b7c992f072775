/**
 * Disk full (reference T4): the cluster's data directory is a small tmpfs (`mount -t tmpfs -o
 * size=8m`, needs root). Sends go on until the disk is full; then every send must fail clearly
 * through the protocol (SERVICE_NOT_AVAILABLE, 14, remark naming the full disk), the broker stays
 * up and keeps serving what it stored, and once space is freed sends succeed again. After a clean
 * stop the store is reopened offline: no torn record, every acknowledged message intact.
 *
 * Without a tmpfs (not root, no mount; or DISKFULL_FALLBACK=1) the test falls back to an injected
 * ENOSPC at the store's write hook and says so.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFileOps, type CommitLogFileOps } from '../../src-main/broker/store/commit-log.js';
import { decodeMessages } from '../../src-main/broker/store/message-codec.js';
import { MessageStore } from '../../src-main/broker/store/message-store.js';
import { MQAdmin } from '../../src-main/remoting/admin/mq-admin.js';
import { RemotingClient } from '../../src-main/remoting/remoting-client.js';
import { createRequest } from '../../src-main/remoting/remoting-command.js';
import { RequestCode } from '../../src-main/remoting/request-code.js';
import { tempDir } from '../harness/temp-dir.js';
import { startClusterChild, type ClusterChild } from './cluster-child.js';
import { muteConsole, mulberry32, pullAll, workloadMessage } from './support.js';

const TOPIC = 'DiskFullTopic';
const QUEUES = 4;
const BODY_SIZE = 8 * 1024;
const SERVICE_NOT_AVAILABLE = 14;

function tryMount(dir: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return ((e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message).split('\n')[0] ?? 'mount failed';
  }
}

function send(client: RemotingClient, addr: string, id: number, body: Buffer): Promise<{ code: number; remark?: string; queueId: number; queueOffset?: number; ms: number }> {
  const queueId = id % QUEUES;
  const started = Date.now();
  return client.invoke(addr, createRequest(RequestCode.SEND_MESSAGE_V2, {
    a: 'DISK_PRODUCER', b: TOPIC, c: 'TBW102', d: 4, e: queueId, f: 0, g: Date.now(), h: 0, i: `KEYS\u0001d-${id}\u0002`, j: 0, k: false, m: false,
  }, body), 10_000).then((res) => ({ code: res.code, remark: res.remark, queueId, queueOffset: res.code === 0 ? Number(res.extFields?.queueOffset) : undefined, ms: Date.now() - started }));
}

function bodyFor(id: number): Buffer {
  const b = Buffer.alloc(BODY_SIZE, id % 251);
  b.write(`d-${id}:`, 'latin1');
  return b;
}

async function pullQueue(client: RemotingClient, addr: string, queueId: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const res = await client.invoke(addr, createRequest(RequestCode.PULL_MESSAGE, {
      consumerGroup: 'DISK_CHECKER', topic: TOPIC, queueId, queueOffset: offset, maxMsgNums: 32,
      sysFlag: 0x4, commitOffset: 0, suspendTimeoutMillis: 0, subscription: '*', subVersion: 0, expressionType: 'TAG',
    }), 10_000);
    if (res.code !== 0 || !res.body) break;
    out.push(...decodeMessages(res.body).map((m) => m.body));
    const next = Number(res.extFields?.nextBeginOffset ?? offset);
    if (next <= offset) break;
    offset = next;
  }
  return out;
}

describe('disk full', () => {
  it('sends fail with SERVICE_NOT_AVAILABLE, the broker stays up, nothing stored is damaged, sends resume when space returns', async () => {
    const tmp = tempDir('diskfull');
    const mountProblem = process.env.DISKFULL_FALLBACK ? 'DISKFULL_FALLBACK is set' : tryMount(tmp.path);
    try {
      if (mountProblem) {
        console.log(`disk full: cannot mount a tmpfs (${mountProblem}); FALLING BACK to an injected ENOSPC at the store's write hook (no protocol, no real full disk)`);
        await injectedFallback(tmp.path);
        return;
      }
      await onTmpfs(tmp.path);
    } finally {
      if (!mountProblem) {
        try {
          execFileSync('umount', [tmp.path], { stdio: 'pipe' });
        } catch {
          execFileSync('umount', ['-l', tmp.path], { stdio: 'pipe' });
        }
      }
      tmp.remove();
    }
  }, 180_000);
});

async function onTmpfs(mountPoint: string): Promise<void> {
  const ballast = path.join(mountPoint, 'ballast');
  fs.writeFileSync(ballast, Buffer.alloc(1536 * 1024, 1));
  const dataDir = path.join(mountPoint, 'data');
  let cluster: ClusterChild | null = await startClusterChild(dataDir, ['--flush', 'sync']);
  const client = new RemotingClient({ defaultTimeoutMs: 10_000 });
  try {
    await new MQAdmin(cluster.namesrvAddr, client).createTopic(TOPIC, QUEUES);
    const addr = cluster.brokers.get('broker-a-0') as string;
    const acked = new Map<number, { queueId: number; queueOffset: number }>();
    const failures: { code: number; remark?: string; ms: number }[] = [];
    let id = 0;
    // 1. Fill the disk: 4 sends at a time until 40 have failed.
    while (failures.length < 40 && id < 5000) {
      const batch = await Promise.all([0, 1, 2, 3].map(() => {
        const i = id++;
        return send(client, addr, i, bodyFor(i)).then((r) => ({ i, r }));
      }));
      for (const { i, r } of batch) {
        if (r.code === 0) acked.set(i, { queueId: r.queueId, queueOffset: r.queueOffset as number });
        else failures.push(r);
      }
    }
    const df = execFileSync('df', ['-k', mountPoint]).toString().trim().split('\n').pop();
    expect(failures.length).toBeGreaterThanOrEqual(40);
    const codes = [...new Set(failures.map((f) => f.code))];
    const slowest = Math.max(...failures.map((f) => f.ms));
    console.log(`disk full on an 8 MiB tmpfs: ${acked.size} sends acknowledged, then ${failures.length} failed with codes ${JSON.stringify(codes)} (slowest failure answered in ${slowest} ms): "${failures[0]?.remark}"; df: ${df}`);
    expect(codes).toEqual([SERVICE_NOT_AVAILABLE]);
    expect(failures[0]?.remark).toMatch(/disk full|ENOSPC/i);
    expect(slowest).toBeLessThan(1000);

    // 2. Still up: everything acknowledged reads back intact.
    const read = new Map<string, Buffer>();
    for (let q = 0; q < QUEUES; q++) for (const b of await pullQueue(client, addr, q)) read.set(b.toString('latin1', 0, 12).split(':')[0] as string, b);
    let intact = 0;
    for (const i of acked.keys()) if (read.get(`d-${i}`)?.equals(bodyFor(i))) intact++;
    expect(intact).toBe(acked.size);

    // 3. Free space: sends succeed again within 5 s.
    fs.rmSync(ballast);
    const freedAt = Date.now();
    let resumed = -1;
    while (Date.now() - freedAt < 5000) {
      const i = id++;
      const r = await send(client, addr, i, bodyFor(i));
      if (r.code === 0) {
        acked.set(i, { queueId: r.queueId, queueOffset: r.queueOffset as number });
        resumed = Date.now() - freedAt;
        break;
      }
    }
    expect(resumed).toBeGreaterThanOrEqual(0);
    for (let k = 0; k < 20; k++) {
      const i = id++;
      const r = await send(client, addr, i, bodyFor(i));
      expect(r.code).toBe(0);
      acked.set(i, { queueId: r.queueId, queueOffset: r.queueOffset as number });
    }
    console.log(`disk full: space freed; sends resumed after ${resumed} ms; ${acked.size} acknowledged in all, ${intact} of those before the freeing read back intact while the disk was full`);

    // 4. Clean stop, then the store offline: no torn record, every acknowledged message intact.
    client.close();
    const exit = await cluster.kill('SIGTERM');
    cluster = null;
    expect(exit).toBe(0);
    const store = new MessageStore({ storeDir: path.join(dataDir, 'broker-a-0'), storeHost: '127.0.0.1:10911' });
    const report = await store.open();
    try {
      expect(report.commitLog.truncated).toBeUndefined();
      expect(report.commitLog.corruptRanges).toEqual([]);
      const stored = new Map<string, Buffer>();
      for (let q = 0; q < QUEUES; q++) {
        for (const raw of pullAll(store, TOPIC, q)) {
          const m = decodeMessages(raw)[0];
          if (m) stored.set(`${m.queueId}@${m.queueOffset}`, m.body);
        }
      }
      let lost = 0;
      for (const [i, a] of acked) if (!stored.get(`${a.queueId}@${a.queueOffset}`)?.equals(bodyFor(i))) lost++;
      console.log(`disk full: after a clean stop, offline recovery: abnormal ${report.abnormalShutdown}, truncated none, quarantined none; acknowledged ${acked.size}, lost ${lost}`);
      expect(lost).toBe(0);
    } finally {
      await store.close();
    }
  } finally {
    client.close();
    if (cluster) await cluster.kill('SIGKILL');
  }
}

/** No tmpfs: ENOSPC injected at the commitlog write once a byte budget is used up. */
async function injectedFallback(dir: string): Promise<void> {
  let budget = 200 * 1024;
  const ops: CommitLogFileOps = {
    writeSync: (fd, buffer, offset, length, position) => {
      if (length > budget) {
        const n = budget > 0 ? nodeFileOps.writeSync(fd, buffer, offset, budget, position) : 0;
        budget -= n;
        if (n > 0) return n; // a short write first, as on a real full disk
        const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
        e.code = 'ENOSPC';
        throw e;
      }
      budget -= length;
      return nodeFileOps.writeSync(fd, buffer, offset, length, position);
    },
    fdatasync: nodeFileOps.fdatasync,
  };
  const store = new MessageStore({ storeDir: dir, storeHost: '127.0.0.1:10911', flushMode: 'SYNC', commitLogFileOps: ops });
  await store.open();
  const rng = mulberry32(1);
  const acked: number[] = [];
  let failed = 0;
  const unmute = muteConsole();
  try {
    for (let i = 0; i < 2000 && failed < 20; i++) {
      const r = await store.putMessage(workloadMessage(i, rng, [TOPIC], QUEUES));
      if (r.status === 'PUT_OK') acked.push(i);
      else {
        expect(r.status).toBe('SERVICE_NOT_AVAILABLE');
        failed++;
      }
    }
    budget = Number.POSITIVE_INFINITY;
    const again = await store.putMessage(workloadMessage(5000, rng, [TOPIC], QUEUES));
    expect(again.status).toBe('PUT_OK');
  } finally {
    unmute();
  }
  let read = 0;
  for (let q = 0; q < QUEUES; q++) read += pullAll(store, TOPIC, q).length;
  await store.close();
  console.log(`disk full (injected fallback): ${acked.length} acknowledged, ${failed} failed with SERVICE_NOT_AVAILABLE, ${read} read back (acknowledged + 1 after the space returned)`);
  expect(read).toBe(acked.length + 1);
}
