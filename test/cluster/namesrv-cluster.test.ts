/**
 * NameServer cluster: two NameServers that share nothing; every broker registers with both;
 * ali-ons clients given both keep producing and consuming while one is stopped (ali-ons tries the
 * next NameServer of its list when one fails: RemotingClient#invokeForNameSrvAtLeastOnce), the
 * admin client falls back the same way, and a restarted NameServer is filled again at once
 * (the cluster has every broker re-register). Nothing may fail beyond a retry inside the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../src-main/broker/cluster/cluster.js';
import { MQAdmin } from '../../src-main/remoting/admin/mq-admin.js';
import { NameServer } from '../../src-main/broker/namesrv/namesrv.js';
import { tempDir } from '../harness/temp-dir.js';
import { createConsumer, createMessage, createProducer } from '../harness/ali-ons.js';
import { sleep, until } from '../integration/ha/helpers.js';

const dir = tempDir('namesrv-cluster');
let cluster: EmbeddedCluster;

beforeAll(async () => {
  cluster = await startCluster({ dataDir: dir.path, namesrvPort: 0, namesrvCount: 2, brokerGroups: ['broker-a', 'broker-b'], slavesPerGroup: 0, failoverTimeoutMs: 0 });
});

afterAll(async () => {
  await cluster?.stop();
  dir.remove();
});

function routedBrokers(ns: NameServer, topic: string): string[] {
  return (ns.routes.pickupTopicRouteData(topic)?.brokerDatas ?? []).map((b) => b.brokerName).sort();
}

describe('two NameServers', () => {
  it('lists both, and every broker registers with both', async () => {
    expect(cluster.namesrvAddr.split(';')).toHaveLength(2);
    const admin = new MQAdmin(cluster.namesrvAddr);
    try {
      await admin.createTopic('NsTopic', 4);
      await until(() => cluster.namesrvs.every((ns) => routedBrokers(ns, 'NsTopic').length === 2), 5000, 'routes on both NameServers');
      expect(cluster.namesrvNodes().map((n) => n.state)).toEqual(['running', 'running']);
    } finally {
      admin.close();
    }
  });

  it('producers and consumers keep working while one NameServer is stopped', async () => {
    const topic = 'NsTopic';
    const addr = cluster.namesrvAddr;
    const producer = createProducer(addr, 'PID_NS', 'ns-producer');
    const consumer = createConsumer(addr, 'CID_NS', 'ns-consumer', { pollNameServerInteval: 500, rebalanceInterval: 1000 });
    const admin = new MQAdmin(addr);
    let producerErrors = 0;
    let consumerErrors = 0;
    producer.on('error', () => { producerErrors++; });
    const consumerErrorKinds = new Set<string>();
    consumer.on('error', (e) => { consumerErrors++; consumerErrorKinds.add(e.message.replace(/\d+/g, 'N').slice(0, 120)); });
    const received = new Set<string>();
    consumer.subscribe(topic, '*', async (msg) => { received.add(msg.body.toString()); });
    try {
      await producer.ready();
      await consumer.ready();
      const sent: string[] = [];
      const sendFailures: string[] = [];
      let adminCalls = 0;
      const sendFor = async (ms: number): Promise<void> => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          const id = `ns-${sent.length + sendFailures.length}`;
          try {
            const r = await producer.send(createMessage(topic, 'T', id));
            if (r.sendStatus === 'SEND_OK') sent.push(id);
            else sendFailures.push(`${id}: ${r.sendStatus}`);
          } catch (e) {
            sendFailures.push(`${id}: ${(e as Error).message}`);
          }
          await sleep(5);
        }
      };
      await sendFor(1500);
      await cluster.stopNamesrv(0);
      expect(cluster.namesrvNodes().map((n) => n.state)).toEqual(['stopped', 'running']);
      // Admin lookups and a brand-new client work with only the second NameServer up.
      expect((await admin.routeInfo(topic)).queueDatas).toHaveLength(2);
      expect(Object.keys((await admin.clusterInfo()).brokerAddrTable).sort()).toEqual(['broker-a', 'broker-b']);
      adminCalls += 2;
      const late = createProducer(addr, 'PID_NS_LATE', 'ns-producer-late');
      late.on('error', () => undefined);
      await late.ready();
      const lateResult = await late.send(createMessage(topic, 'T', 'ns-late'));
      expect(lateResult.sendStatus).toBe('SEND_OK');
      sent.push('ns-late');
      await late.close();
      await sendFor(2000);
      await cluster.startNamesrv(0);
      await until(() => routedBrokers(cluster.namesrvs[0]!, topic).length === 2, 5000, 'the restarted NameServer to have the route again');
      await sendFor(1000);
      await until(() => sent.every((id) => received.has(id)), 20_000, `all ${sent.length} messages consumed`);
      console.log(`[namesrv] sent ${sent.length} (send failures ${sendFailures.length}), consumed ${received.size}; `
        + `NameServer 0 stopped for ~2 s then restarted; admin calls during the outage ${adminCalls}; `
        + `client error events: producer ${producerErrors}, consumer ${consumerErrors} (${[...consumerErrorKinds].join(' | ')})`);
      expect(sendFailures).toEqual([]);
      expect([...received].filter((id) => !sent.includes(id))).toEqual([]);
    } finally {
      admin.close();
      await consumer.close().catch(() => undefined);
      await producer.close().catch(() => undefined);
    }
  }, 60_000);
});
