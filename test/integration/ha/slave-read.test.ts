/**
 * Reads from the slave.
 *
 * 1. The real ali-ons client keeps consuming from the slave while the master is stopped. How
 *    ali-ons gets there (node_modules/ali-ons/lib): MQPushConsumer#findBrokerAddress asks
 *    MQClient#findBrokerAddressInSubscribe(brokerName, pullFromWhichNode (0 unless a pull
 *    answer suggested otherwise), onlyThisBroker=false), which takes the wanted id if the route
 *    has it and otherwise any address of the group: once its route refresh (pollNameServerInteval)
 *    no longer lists the master (the NameServer dropped it), pulls go to the slave, without the
 *    commit-offset bit (`if (result.slave) clearCommitOffsetFlag`). Offsets it persists go to
 *    findBrokerAddressInAdmin: the master, else the slave.
 * 2. A slave never stores an offset from a pull, and a consumer ahead of the slave is kept where
 *    it is (held, then PULL_RETRY_IMMEDIATELY with its own offset), never moved back.
 * 3. With slaveReadEnable a master sends a consumer reading far behind the log's end to the slave
 *    (suggestWhichBrokerId = 1), and the slave sends it back once it has caught up (0).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../../src-main/broker/cluster/cluster.js';
import { MQAdmin } from '../../../src-main/remoting/admin/mq-admin.js';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { tempDir } from '../../harness/temp-dir.js';
import { createConsumer, createMessage, createProducer, type OnsConsumer, type OnsProducer } from '../../harness/ali-ons.js';
import { pull, send, PULL_FLAG } from '../../harness/broker-protocol.js';
import { sleep, until } from './helpers.js';

const dir = tempDir('ha-slave-read');
let cluster: EmbeddedCluster;
let admin: MQAdmin;
const client = new RemotingClient({ defaultTimeoutMs: 10_000 });
const open: Array<OnsConsumer | OnsProducer> = [];

beforeAll(async () => {
  cluster = await startCluster({
    dataDir: dir.path, namesrvPort: 0, brokerGroups: ['broker-a'], slavesPerGroup: 1, failoverTimeoutMs: 0,
    brokerOverrides: { slaveSyncIntervalMs: 1000 },
  });
  admin = new MQAdmin(cluster.namesrvAddr);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close().catch(() => undefined)));
});

afterAll(async () => {
  client.close();
  admin?.close();
  await cluster?.stop();
  dir.remove();
});

describe('reads from the slave', () => {
  it('an ali-ons consumer keeps consuming from the slave while the master is stopped', async () => {
    const topic = 'SlaveReadTopic';
    const total = 600;
    await admin.createTopic(topic, 4);
    const producer = createProducer(cluster.namesrvAddr, 'PID_SLAVE_READ', 'slave-read-producer');
    open.push(producer);
    await producer.ready();
    for (let i = 0; i < total; i++) {
      const r = await producer.send(createMessage(topic, 'TagA', `sr-${i}`, [`sr-${i}`]));
      expect(r.sendStatus).toBe('SEND_OK');
    }
    const master = cluster.broker('broker-a', 0)!;
    const slave = cluster.broker('broker-a', 1)!;
    await until(() => slave.store.getMaxPhyOffset() === master.store.getMaxPhyOffset(), 10_000, 'the slave to catch up');

    // A consumer that takes little at a time and stalls on a gate after its first messages.
    let gateOpen = false;
    const received: string[] = [];
    const afterStop: string[] = [];
    let masterStopped = false;
    const consumer = createConsumer(cluster.namesrvAddr, 'CID_SLAVE_READ', 'slave-read-consumer', {
      pollNameServerInteval: 1000, pullBatchSize: 4, pullThresholdForQueue: 8, pullTimeDelayMillsWhenFlowControl: 100,
      pullTimeDelayMillsWhenException: 300, persistConsumerOffsetInterval: 500, rebalanceInterval: 1000,
    });
    open.push(consumer);
    let clientErrors = 0;
    consumer.on('error', () => { clientErrors++; });
    consumer.subscribe(topic, '*', async (msg) => {
      while (received.length >= 40 && !gateOpen) await sleep(20);
      const id = msg.body.toString();
      received.push(id);
      if (masterStopped) afterStop.push(id);
    });
    await consumer.ready();
    await until(() => received.length >= 40, 20_000, 'the first messages from the master');
    const pulledFromSlaveBefore = slave.stats.getFound.total ?? 0;
    await cluster.stopNode('broker-a-0');
    masterStopped = true;
    gateOpen = true;
    await until(() => new Set(received).size === total, 30_000, `all ${total} messages (have ${new Set(received).size})`);
    const fromSlave = (slave.stats.getFound.total ?? 0) - pulledFromSlaveBefore;
    console.log(`[slave read] ${received.length} deliveries of ${total} messages, ${afterStop.length} after the master stopped; `
      + `messages the slave served: ${fromSlave}; duplicates ${received.length - new Set(received).size}; `
      + `client errors while the master was away (pulls to it refused, then the route changed): ${clientErrors}`);
    expect(new Set(received)).toEqual(new Set(Array.from({ length: total }, (_, i) => `sr-${i}`)));
    expect(afterStop.length).toBeGreaterThan(total / 2);
    expect(fromSlave).toBeGreaterThan(total / 2);
    await cluster.restartNode('broker-a-0');
  }, 60_000);

  it('a slave never commits offsets from pulls and never moves a consumer that is ahead of it', async () => {
    const topic = 'SlaveNoCommit';
    await admin.createTopic(topic, 1);
    const master = cluster.broker('broker-a', 0)!;
    const slave = cluster.broker('broker-a', 1)!;
    for (let i = 0; i < 10; i++) await send(client, master.address, { topic, queueId: 0, body: `n-${i}` });
    await until(() => slave.store.getMaxOffset(topic, 0) === 10, 10_000, 'replication');
    const p = await pull(client, slave.address, {
      topic, queueOffset: 0, group: 'CID_NO_COMMIT', sysFlag: PULL_FLAG.SUBSCRIPTION | PULL_FLAG.COMMIT_OFFSET, commitOffset: 7,
    });
    expect(p.code).toBe(ResponseCode.SUCCESS);
    expect(p.messages.length).toBe(10);
    expect(slave.offsets.query('CID_NO_COMMIT', topic, 0)).toBeUndefined();
    expect(Number(p.response.extFields?.suggestWhichBrokerId)).toBe(0);
    // Ahead of the slave (the consumer came from the master): answered without moving it.
    const ahead = await pull(client, slave.address, { topic, queueOffset: 25, group: 'CID_NO_COMMIT', sysFlag: PULL_FLAG.SUBSCRIPTION });
    expect(ahead.code).toBe(ResponseCode.PULL_RETRY_IMMEDIATELY);
    expect(ahead.nextBeginOffset).toBe(25);
    // The same on the master is an offset correction.
    const onMaster = await pull(client, master.address, { topic, queueOffset: 25, group: 'CID_NO_COMMIT', sysFlag: PULL_FLAG.SUBSCRIPTION });
    expect(onMaster.code).toBe(ResponseCode.PULL_OFFSET_MOVED);
    // Held on the slave until replication brings the offset asked for.
    const held = pull(client, slave.address, { topic, queueOffset: 11, group: 'CID_NO_COMMIT', sysFlag: PULL_FLAG.SUBSCRIPTION | PULL_FLAG.SUSPEND, suspendTimeoutMillis: 10_000 }, 15_000);
    await sleep(200);
    await send(client, master.address, { topic, queueId: 0, body: 'n-10' });
    await send(client, master.address, { topic, queueId: 0, body: 'n-11' });
    const woke = await held;
    expect(woke.code).toBe(ResponseCode.SUCCESS);
    expect(woke.messages.map((m) => m.body.toString())).toEqual(['n-11']);
  }, 30_000);

  it('slaveReadEnable: a master sends a lagging consumer to the slave, the slave sends it back when caught up', async () => {
    const topic = 'SlaveReadLag';
    await admin.createTopic(topic, 1);
    const master = cluster.broker('broker-a', 0)!;
    const slave = cluster.broker('broker-a', 1)!;
    for (const node of [master, slave]) {
      node.config.slaveReadEnable = true;
      node.config.slaveReadLagBytes = 64 * 1024;
    }
    try {
      const body = Buffer.alloc(1024, 'z');
      for (let i = 0; i < 200; i++) await send(client, master.address, { topic, queueId: 0, body });
      await until(() => slave.store.getMaxOffset(topic, 0) === 200, 10_000, 'replication');
      const far = await pull(client, master.address, { topic, queueOffset: 0, group: 'CID_LAG', sysFlag: PULL_FLAG.SUBSCRIPTION });
      expect(far.code).toBe(ResponseCode.SUCCESS);
      expect(Number(far.response.extFields?.suggestWhichBrokerId)).toBe(1);
      const farOnSlave = await pull(client, slave.address, { topic, queueOffset: 0, group: 'CID_LAG', sysFlag: PULL_FLAG.SUBSCRIPTION });
      expect(Number(farOnSlave.response.extFields?.suggestWhichBrokerId)).toBe(1);
      const near = await pull(client, slave.address, { topic, queueOffset: 195, group: 'CID_LAG', sysFlag: PULL_FLAG.SUBSCRIPTION });
      expect(near.code).toBe(ResponseCode.SUCCESS);
      expect(Number(near.response.extFields?.suggestWhichBrokerId)).toBe(0);
    } finally {
      for (const node of [master, slave]) node.config.slaveReadEnable = false;
    }
  }, 30_000);
});
