/**
 * Failover in the embedded cluster (SYNC_MASTER, one slave, automatic promotion after 6 s):
 *
 * 1. 600 messages acknowledged (raw sends, no client retries, so the store oracle is exact).
 * 2. The slave's replication link is cut; 50 more sends reach only the master, which answers
 *    SLAVE_NOT_AVAILABLE (stored, unconfirmed: "indeterminate"). The master is then killed.
 * 3. An ali-ons consumer started after the kill receives all 600 from the slave while the master
 *    is down, before any promotion.
 * 4. The controller promotes the slave; an ali-ons producer's sends land on it (SLAVE_NOT_AVAILABLE
 *    while it has no slave: stored, and the consumer gets them).
 * 5. The old master restarts, rejoins as the slave and cuts the 50 records its new master never
 *    had (reported); then sends are SEND_OK again.
 * Oracle on both nodes' stores, every queue read from offset 0: each acknowledged id exactly
 * once, nothing never sent, no duplicates, offset msgIds unique, no queue gaps, both logs equal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../src-main/broker/cluster/cluster.js';
import { MQAdmin } from '../../src-main/remoting/admin/mq-admin.js';
import { RemotingClient } from '../../src-main/remoting/remoting-client.js';
import { ResponseCode } from '../../src-main/remoting/response-code.js';
import { tempDir } from '../harness/temp-dir.js';
import { createConsumer, createMessage, createProducer } from '../harness/ali-ons.js';
import { History, drain, duplicates, queueGaps, runLoad, until } from '../integration/ha/helpers.js';

const TOPIC = 'FailoverTopic';
const QUEUES = 4;
const FAILOVER_MS = 6000;
const dir = tempDir('failover');
let cluster: EmbeddedCluster;
const client = new RemotingClient({ defaultTimeoutMs: 10_000 });

beforeAll(async () => {
  cluster = await startCluster({
    dataDir: dir.path, namesrvPort: 0, brokerGroups: ['broker-a'], slavesPerGroup: 1, replicationMode: 'SYNC',
    failoverTimeoutMs: FAILOVER_MS, failoverCheckMs: 500,
    brokerOverrides: { haSyncTimeoutMs: 2000, slaveSyncIntervalMs: 1000 },
  });
});

afterAll(async () => {
  client.close();
  await cluster?.stop();
  dir.remove();
});

describe('automatic failover', () => {
  it('keeps consumers reading from the slave, promotes it, and takes the old master back as its slave', async () => {
    const admin = new MQAdmin(cluster.namesrvAddr);
    await admin.createTopic(TOPIC, QUEUES);
    // The group's retry topic exists from before (as for any group that consumed before the outage),
    // so the route clients look up for it is there while the master is down.
    await admin.createTopic('%RETRY%CID_FAILOVER', 1);
    admin.close();
    const history = new History();
    const oldMaster = cluster.broker('broker-a', 0)!;
    expect(cluster.nodes().map((n) => [n.name, n.role])).toEqual([['broker-a-0', 'SYNC_MASTER'], ['broker-a-1', 'SLAVE']]);

    // 1. Acknowledged by master and slave.
    await runLoad({ client, addr: oldMaster.address, topic: TOPIC, queues: QUEUES, inFlight: 32, bodyBytes: 256, prefix: 'a', history, stop: () => false, max: 600 });
    expect(history.ok.size).toBe(600);

    // 2. A tail only the master holds, then the master dies.
    cluster.setReplicationPaused('broker-a-1', true);
    await until(() => oldMaster.ha.status().slaves.length === 0, 5000, 'the HA link to drop');
    await runLoad({ client, addr: oldMaster.address, topic: TOPIC, queues: QUEUES, inFlight: 8, bodyBytes: 256, prefix: 'b', history, stop: () => false, max: 50 });
    expect(history.codes.get(String(ResponseCode.SLAVE_NOT_AVAILABLE))).toBe(50);
    const killedAt = Date.now();
    await cluster.killNode('broker-a-0');
    cluster.setReplicationPaused('broker-a-1', false);

    // 3. Consumed from the slave while the master is down.
    const received: Array<{ id: string; at: number }> = [];
    const consumer = createConsumer(cluster.namesrvAddr, 'CID_FAILOVER', 'failover-consumer', {
      pollNameServerInteval: 500, rebalanceInterval: 1000, persistConsumerOffsetInterval: 500, pullTimeDelayMillsWhenException: 300,
    });
    consumer.on('error', () => undefined);
    consumer.subscribe(TOPIC, '*', async (msg) => { received.push({ id: msg.body.toString('latin1').split('|')[0]!, at: Date.now() }); });
    const producer = createProducer(cluster.namesrvAddr, 'PID_FAILOVER', 'failover-producer');
    producer.on('error', () => undefined);
    try {
      await consumer.ready();
      await until(() => [...history.ok].every((id) => received.some((r) => r.id === id)), FAILOVER_MS, 'the acknowledged messages, from the slave');
      const fromSlaveDoneAt = Date.now();

      // 4. Promotion.
      await until(() => cluster.events.some((e) => e.kind === 'failover'), 20_000, 'automatic promotion');
      const failover = cluster.events.find((e) => e.kind === 'failover')!;
      expect(fromSlaveDoneAt).toBeLessThan(failover.at);
      expect(cluster.nodes().map((n) => [n.name, n.role, n.brokerId, n.state])).toEqual([
        ['broker-a-0', 'SLAVE', 1, 'killed'], ['broker-a-1', 'SYNC_MASTER', 0, 'running'],
      ]);
      const newMaster = cluster.broker('broker-a', 0)!;
      expect(newMaster).toBe(cluster.node('broker-a-1'));
      await producer.ready();
      const statuses = new Map<string, number>();
      for (let i = 0; i < 100; i++) {
        const id = `c-${i}`;
        const r = await producer.send(createMessage(TOPIC, 'T', Buffer.from(`${id}|`), [id]));
        statuses.set(r.sendStatus, (statuses.get(r.sendStatus) ?? 0) + 1);
        if (r.messageQueue.brokerName === 'broker-a') history.info.add(id); // stored, replica unconfirmed
      }
      expect(Object.fromEntries(statuses)).toEqual({ SLAVE_NOT_AVAILABLE: 100 });

      // 5. The old master returns as the slave and cuts its divergent tail.
      await cluster.restartNode('broker-a-0');
      const returned = cluster.node('broker-a-0')!;
      expect(returned.config.brokerRole).toBe('SLAVE');
      await until(() => returned.store.getMaxPhyOffset() === newMaster.store.getMaxPhyOffset(), 10_000, 'the old master to catch up');
      const truncations = returned.ha.status().client?.truncations ?? [];
      expect(truncations).toHaveLength(1);
      expect(truncations[0]!.records).toBe(50);
      for (let i = 0; i < 100; i++) {
        const id = `d-${i}`;
        const r = await producer.send(createMessage(TOPIC, 'T', Buffer.from(`${id}|`), [id]));
        expect(r.sendStatus).toBe('SEND_OK');
        history.ok.add(id);
      }
      const wanted = [...history.ok, ...[...history.info].filter((id) => id.startsWith('c-'))];
      await until(() => wanted.every((id) => received.some((r) => r.id === id)), 20_000, 'every stored message consumed');

      // The store oracle, on both nodes.
      await until(() => returned.store.getMaxPhyOffset() === newMaster.store.getMaxPhyOffset(), 10_000, 'replication of the last sends');
      const onMaster = await drain(client, newMaster.address, TOPIC, QUEUES);
      const onSlave = await drain(client, returned.address, TOPIC, QUEUES);
      const ids = onMaster.map((s) => s.id);
      const lost = [...history.ok].filter((id) => !ids.includes(id));
      const unexpected = ids.filter((id) => !history.ok.has(id) && !history.info.has(id));
      const bOnMaster = ids.filter((id) => id.startsWith('b-')).length;
      console.log(`[failover] master killed; consumer had all ${600} acknowledged messages from the slave ${fromSlaveDoneAt - killedAt} ms after the kill; `
        + `promotion ${failover.at - killedAt} ms after the kill (${failover.detail}); `
        + `old master cut [${truncations[0]!.from}, ${truncations[0]!.to}) = ${truncations[0]!.records} records on return; `
        + `store: ${onMaster.length} messages, acknowledged ${history.ok.size}, lost ${lost.length}, unexpected ${unexpected.length}, `
        + `duplicates ${duplicates(ids)}, gaps ${queueGaps(onMaster)}, unconfirmed tail kept ${bOnMaster}; consumer deliveries ${received.length}`);
      expect(lost).toEqual([]);
      expect(unexpected).toEqual([]);
      expect(duplicates(ids)).toBe(0);
      expect(duplicates(onMaster.map((s) => s.msgId))).toBe(0);
      expect(queueGaps(onMaster)).toBe(0);
      expect(bOnMaster).toBe(0);
      expect(onSlave).toEqual(onMaster);
    } finally {
      await consumer.close().catch(() => undefined);
      await producer.close().catch(() => undefined);
    }
  }, 60_000);
});
