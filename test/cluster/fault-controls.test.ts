/**
 * The embedded cluster's fault controls, as the console uses them: manual promotion while the
 * master is up (a switchover: fence, catch up, swap, the old master returns as slave, nothing
 * lost even with async replication), an in-process kill and restart of a node (its store
 * recovers as after a crash and it catches up), a clean stop and restart, and roles that survive
 * a restart of the whole cluster (role.json).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../src-main/broker/cluster/cluster.js';
import { MQAdmin } from '../../src-main/remoting/admin/mq-admin.js';
import { RemotingClient } from '../../src-main/remoting/remoting-client.js';
import { parseServeArgs } from '../../src-main/server/cli-args.js';
import { tempDir } from '../harness/temp-dir.js';
import { History, drain, runLoad, until } from '../integration/ha/helpers.js';

const TOPIC = 'FaultTopic';
const dir = tempDir('fault-controls');
let cluster: EmbeddedCluster;
const client = new RemotingClient({ defaultTimeoutMs: 10_000 });

afterAll(async () => {
  client.close();
  await cluster?.stop();
  dir.remove();
});

const start = (): Promise<EmbeddedCluster> => startCluster({
  dataDir: dir.path, namesrvPort: 0, brokerGroups: ['broker-a'], slavesPerGroup: 1, failoverTimeoutMs: 0,
});

async function sendBatch(prefix: string, n: number, history: History): Promise<void> {
  const master = cluster.broker('broker-a', 0)!;
  await runLoad({ client, addr: master.address, topic: TOPIC, queues: 2, inFlight: 16, bodyBytes: 200, prefix, history, stop: () => false, max: n });
}

const roles = (): string[][] => cluster.nodes().map((n) => [n.name, n.role, String(n.brokerId), n.state]);

async function inSync(): Promise<void> {
  await until(() => {
    const [a, b] = cluster.brokers;
    return a!.state === 'running' && b!.state === 'running' && a!.store.getMaxPhyOffset() === b!.store.getMaxPhyOffset();
  }, 10_000, 'both nodes in sync');
}

describe('fault controls', () => {
  it('switchover: manual promotion with the master up loses nothing, even with async replication', async () => {
    cluster = await start();
    const admin = new MQAdmin(cluster.namesrvAddr);
    await admin.createTopic(TOPIC, 2);
    admin.close();
    const history = new History();
    await sendBatch('s1', 300, history);
    expect(history.ok.size).toBe(300);
    const promoted = await cluster.promote('broker-a');
    expect(promoted.name).toBe('broker-a-1');
    expect(roles()).toEqual([['broker-a-0', 'SLAVE', '1', 'running'], ['broker-a-1', 'ASYNC_MASTER', '0', 'running']]);
    expect(cluster.events.map((e) => e.kind)).toContain('promoted');
    await sendBatch('s2', 100, history);
    expect(history.ok.size).toBe(400);
    await inSync();
    for (const name of ['broker-a-0', 'broker-a-1']) {
      const ids = new Set((await drain(client, cluster.node(name)!.address, TOPIC, 2)).map((s) => s.id));
      expect([...history.ok].filter((id) => !ids.has(id))).toEqual([]);
      expect(ids.size).toBe(400);
    }
  }, 30_000);

  it('kill and restart of a slave: it recovers and catches up', async () => {
    const history = new History();
    await cluster.killNode('broker-a-0');
    expect(roles()[0]).toEqual(['broker-a-0', 'SLAVE', '1', 'killed']);
    await sendBatch('k1', 100, history);
    await cluster.restartNode('broker-a-0');
    await inSync();
    const ids = new Set((await drain(client, cluster.node('broker-a-0')!.address, TOPIC, 2)).map((s) => s.id));
    expect(ids.size).toBe(500);
  }, 30_000);

  it('clean stop and restart of the master keeps its role (no failover configured)', async () => {
    await cluster.stopNode('broker-a-1');
    expect(roles()[1]).toEqual(['broker-a-1', 'ASYNC_MASTER', '0', 'stopped']);
    await cluster.restartNode('broker-a-1');
    expect(roles()).toEqual([['broker-a-0', 'SLAVE', '1', 'running'], ['broker-a-1', 'ASYNC_MASTER', '0', 'running']]);
    const history = new History();
    await sendBatch('r1', 50, history);
    expect(history.ok.size).toBe(50);
    await inSync();
  }, 30_000);

  it('roles survive a restart of the whole cluster', async () => {
    await cluster.stop();
    cluster = await start();
    expect(roles()).toEqual([['broker-a-0', 'SLAVE', '1', 'running'], ['broker-a-1', 'ASYNC_MASTER', '0', 'running']]);
    await inSync();
    const ids = new Set((await drain(client, cluster.broker('broker-a', 0)!.address, TOPIC, 2)).map((s) => s.id));
    expect(ids.size).toBe(550);
  }, 30_000);

  it('serve takes --failover-timeout', () => {
    expect(parseServeArgs([]).failoverTimeoutMs).toBe(10_000);
    expect(parseServeArgs(['--failover-timeout', '0']).failoverTimeoutMs).toBe(0);
    expect(() => parseServeArgs(['--failover-timeout', 'soon'])).toThrow(/milliseconds/);
  });
});
