import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { crc32, deflateSync } from 'node:zlib';
import { NameServer } from '../../../../src-main/broker/namesrv/namesrv.js';
import {
  encodeRegisterBrokerBody, queryDataVersion, registerBrokerAll, unregisterBroker, type BrokerIdentity,
} from '../../../../src-main/broker/namesrv/namesrv-client.js';
import type { DataVersion, TopicConfig } from '../../../../src-main/broker/namesrv/route-types.js';
import { RemotingClient } from '../../../../src-main/remoting/remoting-client.js';
import { createRequest, type HeaderValues, type RemotingCommand } from '../../../../src-main/remoting/remoting-command.js';
import { RequestCode } from '../../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../../src-main/remoting/response-code.js';
import { parseFastjson } from '../../../../src-main/remoting/fastjson.js';
import type { Logger } from '../../../../src-main/remoting/logger.js';

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
/** ali-ons parses route data with JSON2 (eval-based); use the very parser it ships with. */
const JSON2 = createRequire(import.meta.url)('JSON2') as { parse(text: string): unknown };

const topic = (topicName: string, queues = 4, perm = 6): TopicConfig => ({
  topicName, readQueueNums: queues, writeQueueNums: queues, perm, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
});
const table = (...configs: TopicConfig[]): Record<string, TopicConfig> =>
  Object.fromEntries(configs.map((c) => [c.topicName, c]));
const dv = (counter: number, timestamp = 1_700_000_000_000): DataVersion => ({ stateVersion: 0, timestamp, counter });

const ident = (brokerName: string, brokerId: number, port: number, clusterName = 'DefaultCluster'): BrokerIdentity => ({
  clusterName, brokerName, brokerId, brokerAddr: `127.0.0.1:${port}`, haServerAddr: `127.0.0.1:${port + 1}`,
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('NameServer', () => {
  let dataDir: string;
  let ns: NameServer;
  let client: RemotingClient;
  const extraClients: RemotingClient[] = [];

  const call = (code: number, header?: HeaderValues, body?: Buffer, version = 121): Promise<RemotingCommand> => {
    const req = createRequest(code, header, body);
    req.version = version;
    return client.invoke(ns.address, req, 3000);
  };
  const bodyText = (res: RemotingCommand): string => res.body?.toString('utf8') ?? '';
  const newClient = (): RemotingClient => {
    const c = new RemotingClient({ logger: silent });
    extraClients.push(c);
    return c;
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'mqdesk-namesrv-'));
    ns = new NameServer({ port: 0, dataDir, logger: silent });
    await ns.start();
    client = new RemotingClient({ logger: silent });
  });

  afterEach(async () => {
    client.close();
    for (const c of extraClients.splice(0)) c.close();
    await ns.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Two groups, master + slave each; masters carry TopicA (both) and TopicB (broker-b only). */
  async function registerTwoGroups(): Promise<void> {
    const a = table(topic('TopicA', 8), topic('TBW102', 8, 7));
    const b = table(topic('TopicA', 4), topic('TopicB', 2));
    const results = await Promise.all([
      registerBrokerAll(client, [ns.address], ident('broker-a', 0, 10911), a, dv(1)),
      registerBrokerAll(client, [ns.address], ident('broker-b', 0, 10915), b, dv(1)),
    ]);
    for (const r of results) expect(r[0]).toMatchObject({ ok: true });
    const slaves = await Promise.all([
      registerBrokerAll(client, [ns.address], ident('broker-a', 1, 10921), table(topic('SlaveOnly')), dv(1)),
      registerBrokerAll(client, [ns.address], ident('broker-b', 1, 10925), b, dv(1)),
    ]);
    // A slave learns its master's address and HA address.
    expect(slaves[0][0]).toEqual({ namesrvAddr: ns.address, ok: true, masterAddr: '127.0.0.1:10911', haServerAddr: '127.0.0.1:10912' });
    expect(slaves[1][0]).toEqual({ namesrvAddr: ns.address, ok: true, masterAddr: '127.0.0.1:10915', haServerAddr: '127.0.0.1:10916' });
  }

  it('registers two master+slave groups and answers route data from the masters in fastjson form', async () => {
    await registerTwoGroups();
    const res = await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA' });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    const text = bodyText(res);
    expect(text).toContain('"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"}');
    const route = JSON2.parse(text) as {
      queueDatas: Array<Record<string, unknown>>;
      brokerDatas: Array<{ brokerName: string; cluster: string; brokerAddrs: Record<string, string> }>;
    };
    expect(route.queueDatas).toEqual([
      { brokerName: 'broker-a', perm: 6, readQueueNums: 8, topicSysFlag: 0, writeQueueNums: 8 },
      { brokerName: 'broker-b', perm: 6, readQueueNums: 4, topicSysFlag: 0, writeQueueNums: 4 },
    ]);
    const byName = Object.fromEntries(route.brokerDatas.map((b) => [b.brokerName, b]));
    expect(byName['broker-a']).toMatchObject({ cluster: 'DefaultCluster', brokerAddrs: { 0: '127.0.0.1:10911', 1: '127.0.0.1:10921' } });
    expect(byName['broker-b']).toMatchObject({ cluster: 'DefaultCluster', brokerAddrs: { 0: '127.0.0.1:10915', 1: '127.0.0.1:10925' } });

    const b = await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicB' });
    const routeB = JSON2.parse(bodyText(b)) as { queueDatas: Array<{ brokerName: string }>; brokerDatas: unknown[] };
    expect(routeB.queueDatas.map((q) => q.brokerName)).toEqual(['broker-b']);
    expect(routeB.brokerDatas).toHaveLength(1);

    // A slave's own topic table never becomes QueueData.
    const slaveOnly = await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'SlaveOnly' });
    expect(slaveOnly.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
  });

  it('answers standard JSON with quoted keys for version >= 401 or acceptStandardJsonOnly=true', async () => {
    await registerTwoGroups();
    for (const [version, header] of [[401, {}], [409, {}], [121, { acceptStandardJsonOnly: true }]] as const) {
      const res = await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA', ...header }, undefined, version);
      expect(res.code).toBe(ResponseCode.SUCCESS);
      const text = bodyText(res);
      expect(text).toContain('"brokerAddrs":{"0":"127.0.0.1:10911","1":"127.0.0.1:10921"}');
      const route = JSON.parse(text) as { queueDatas: unknown[]; brokerDatas: unknown[]; filterServerTable: unknown };
      expect(route.queueDatas).toHaveLength(2);
      expect(route.brokerDatas).toHaveLength(2);
      expect(route.filterServerTable).toEqual({});
    }
    // Just below the threshold: unquoted keys.
    const old = await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA', acceptStandardJsonOnly: false }, undefined, 400);
    expect(bodyText(old)).toContain('{0:"127.0.0.1:10911"');
  });

  it('answers TOPIC_NOT_EXIST with the Java remark for an unknown topic', async () => {
    const res = await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'Nope' });
    expect(res.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    expect(res.remark).toMatch(/^No topic route info in name server for the topic: Nope\nSee .* for further details\.$/);
    expect(res.body).toBeUndefined();
  });

  it('answers cluster info in fastjson form with unquoted broker ids', async () => {
    await registerTwoGroups();
    const res = await call(RequestCode.GET_BROKER_CLUSTER_INFO, undefined, undefined, 409);
    expect(res.code).toBe(ResponseCode.SUCCESS);
    const text = bodyText(res);
    expect(text).toContain('{0:"127.0.0.1:10911",1:"127.0.0.1:10921"}');
    expect(text).toContain('{0:"127.0.0.1:10915",1:"127.0.0.1:10925"}');
    const info = parseFastjson(text) as {
      brokerAddrTable: Record<string, { cluster: string; brokerAddrs: Record<string, string> }>;
      clusterAddrTable: Record<string, string[]>;
    };
    expect(info.clusterAddrTable).toEqual({ DefaultCluster: ['broker-a', 'broker-b'] });
    expect(info.brokerAddrTable['broker-b']?.brokerAddrs).toEqual({ 0: '127.0.0.1:10915', 1: '127.0.0.1:10925' });
  });

  it('lists all topics, topics by cluster and system topics', async () => {
    await registerTwoGroups();
    await registerBrokerAll(client, [ns.address], ident('broker-x', 0, 10931, 'OtherCluster'), table(topic('OtherTopic')), dv(1));

    const all = parseFastjson(bodyText(await call(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER))) as { topicList: string[] };
    expect(all.topicList.sort()).toEqual(['OtherTopic', 'TBW102', 'TopicA', 'TopicB']);

    const byCluster = await call(RequestCode.GET_TOPICS_BY_CLUSTER, { cluster: 'DefaultCluster' });
    expect((parseFastjson(bodyText(byCluster)) as { topicList: string[] }).topicList.sort()).toEqual(['TBW102', 'TopicA', 'TopicB']);
    const unknown = await call(RequestCode.GET_TOPICS_BY_CLUSTER, { cluster: 'NoSuchCluster' });
    expect(parseFastjson(bodyText(unknown))).toEqual({ topicList: [] });

    const sys = parseFastjson(bodyText(await call(RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS))) as { topicList: string[]; brokerAddr: string };
    expect(sys.topicList.sort()).toEqual(['DefaultCluster', 'OtherCluster', 'broker-a', 'broker-b', 'broker-x']);
    expect(['127.0.0.1:10911', '127.0.0.1:10915', '127.0.0.1:10931']).toContain(sys.brokerAddr);
  });

  it('drops a broker silent longer than the configured timeout, and keeps one that re-registers', async () => {
    await ns.stop();
    ns = new NameServer({ port: 0, brokerExpiryMs: 300, scanIntervalMs: 25, logger: silent });
    await ns.start();
    const brokerClient = newClient();
    const sharedConnection = await brokerClient.getConnection(ns.address);
    await registerBrokerAll(brokerClient, [ns.address], ident('broker-a', 0, 10911), table(topic('TopicA')), dv(1));
    await registerBrokerAll(brokerClient, [ns.address], ident('broker-b', 0, 10915), table(topic('TopicA')), dv(1));
    // broker-b keeps registering; broker-a goes silent.
    const started = Date.now();
    while (Date.now() - started < 800) {
      await registerBrokerAll(brokerClient, [ns.address], ident('broker-b', 0, 10915), table(topic('TopicA')), dv(1));
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(ns.routes.liveBrokerAddrs()).toEqual(['127.0.0.1:10915']);
    const route = parseFastjson(bodyText(await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA' }))) as {
      queueDatas: Array<{ brokerName: string }>;
    };
    expect(route.queueDatas.map((q) => q.brokerName)).toEqual(['broker-b']);
    // The shared connection was not closed, because broker-b still uses it.
    expect(sharedConnection.closed).toBe(false);
    expect(await brokerClient.getConnection(ns.address)).toBe(sharedConnection);
  });

  it('closes the connection of an expired broker that has it to itself', async () => {
    await ns.stop();
    ns = new NameServer({ port: 0, brokerExpiryMs: 150, scanIntervalMs: 25, logger: silent });
    await ns.start();
    const brokerClient = newClient();
    const connection = await brokerClient.getConnection(ns.address);
    await registerBrokerAll(brokerClient, [ns.address], ident('broker-a', 0, 10911), table(topic('TopicA')), dv(1));
    expect(ns.routes.liveBrokerAddrs()).toEqual(['127.0.0.1:10911']);
    await waitFor(() => connection.closed);
    expect(ns.routes.liveBrokerAddrs()).toEqual([]);
    expect((await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA' })).code).toBe(ResponseCode.TOPIC_NOT_EXIST);
  });

  it('removes a broker at once when its connection closes; a master leaving keeps the group routable from the slave', async () => {
    const masterClient = newClient();
    const slaveClient = newClient();
    await registerBrokerAll(masterClient, [ns.address], ident('broker-a', 0, 10911), table(topic('TopicA')), dv(1));
    await registerBrokerAll(slaveClient, [ns.address], ident('broker-a', 1, 10921), table(topic('TopicA')), dv(1));
    expect(ns.routes.liveBrokerAddrs().sort()).toEqual(['127.0.0.1:10911', '127.0.0.1:10921']);

    masterClient.close();
    await waitFor(() => ns.routes.liveBrokerAddrs().length === 1);
    const res = await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA' });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    const route = parseFastjson(bodyText(res)) as { queueDatas: unknown[]; brokerDatas: Array<{ brokerAddrs: Record<string, string> }> };
    // No id 0 any more, so clients stop publishing there; consumers can still read from the slave.
    expect(route.brokerDatas[0]?.brokerAddrs).toEqual({ 1: '127.0.0.1:10921' });
    expect(route.queueDatas).toHaveLength(1);

    slaveClient.close();
    await waitFor(() => ns.routes.liveBrokerAddrs().length === 0);
    expect((await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA' })).code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    expect(parseFastjson(bodyText(await call(RequestCode.GET_BROKER_CLUSTER_INFO)))).toEqual({ brokerAddrTable: {}, clusterAddrTable: {} });
  });

  it('drops the QueueData with the master when dropQueueDataWithMaster is set', async () => {
    await ns.stop();
    ns = new NameServer({ port: 0, dropQueueDataWithMaster: true, logger: silent });
    await ns.start();
    const masterClient = newClient();
    await registerBrokerAll(masterClient, [ns.address], ident('broker-a', 0, 10911), table(topic('TopicA')), dv(1));
    await registerBrokerAll(client, [ns.address], ident('broker-a', 1, 10921), table(topic('TopicA')), dv(1));
    masterClient.close();
    await waitFor(() => ns.routes.liveBrokerAddrs().length === 1);
    expect((await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA' })).code).toBe(ResponseCode.TOPIC_NOT_EXIST);
  });

  it('unregisters a broker', async () => {
    await registerTwoGroups();
    const out = await unregisterBroker(client, [ns.address], ident('broker-b', 0, 10915));
    expect(out).toEqual([{ namesrvAddr: ns.address, ok: true }]);
    await unregisterBroker(client, [ns.address], ident('broker-b', 1, 10925));
    const res = await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicB' });
    expect(res.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    const info = parseFastjson(bodyText(await call(RequestCode.GET_BROKER_CLUSTER_INFO))) as { clusterAddrTable: unknown };
    expect(info.clusterAddrTable).toEqual({ DefaultCluster: ['broker-a'] });
  });

  it('serves KV config commands and persists them across restarts', async () => {
    expect((await call(RequestCode.PUT_KV_CONFIG, { namespace: 'NS1', key: 'k1', value: 'v1' })).code).toBe(ResponseCode.SUCCESS);
    expect((await call(RequestCode.PUT_KV_CONFIG, { namespace: 'NS1', key: 'k2', value: 'v2' })).code).toBe(ResponseCode.SUCCESS);

    const got = await call(RequestCode.GET_KV_CONFIG, { namespace: 'NS1', key: 'k1' });
    expect(got.code).toBe(ResponseCode.SUCCESS);
    expect(got.extFields?.value).toBe('v1');

    const missing = await call(RequestCode.GET_KV_CONFIG, { namespace: 'NS1', key: 'nope' });
    expect(missing.code).toBe(ResponseCode.QUERY_NOT_FOUND);
    expect(missing.remark).toBe('No config item, Namespace: NS1 Key: nope');

    const list = await call(RequestCode.GET_KVLIST_BY_NAMESPACE, { namespace: 'NS1' });
    expect(JSON.parse(bodyText(list))).toEqual({ table: { k1: 'v1', k2: 'v2' } });
    expect((await call(RequestCode.GET_KVLIST_BY_NAMESPACE, { namespace: 'Empty' })).code).toBe(ResponseCode.QUERY_NOT_FOUND);

    expect((await call(RequestCode.DELETE_KV_CONFIG, { namespace: 'NS1', key: 'k2' })).code).toBe(ResponseCode.SUCCESS);
    expect((await call(RequestCode.GET_KV_CONFIG, { namespace: 'NS1', key: 'k2' })).code).toBe(ResponseCode.QUERY_NOT_FOUND);

    const file = JSON.parse(await readFile(path.join(dataDir, 'kvConfig.json'), 'utf8')) as unknown;
    expect(file).toEqual({ configTable: { NS1: { k1: 'v1' } } });

    client.close();
    await ns.stop();
    ns = new NameServer({ port: 0, dataDir, logger: silent });
    await ns.start();
    client = new RemotingClient({ logger: silent });
    const after = await call(RequestCode.GET_KV_CONFIG, { namespace: 'NS1', key: 'k1' });
    expect(after.extFields?.value).toBe('v1');
  });

  it('returns the ORDER_TOPIC_CONFIG table to a registering broker', async () => {
    await call(RequestCode.PUT_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'OrderTopic', value: 'broker-a:4' });
    const out = await registerBrokerAll(client, [ns.address], ident('broker-a', 0, 10911), table(topic('OrderTopic')), dv(1));
    expect(out[0]).toMatchObject({ ok: true, orderTopicConfig: { OrderTopic: 'broker-a:4' } });
  });

  it('deletes a topic everywhere or in one cluster only', async () => {
    await registerBrokerAll(client, [ns.address], ident('broker-a', 0, 10911, 'ClusterA'), table(topic('T1'), topic('T2')), dv(1));
    await registerBrokerAll(client, [ns.address], ident('broker-c', 0, 10941, 'ClusterB'), table(topic('T1'), topic('T2')), dv(1));

    expect((await call(RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic: 'T1', clusterName: 'ClusterA' })).code).toBe(ResponseCode.SUCCESS);
    const t1 = parseFastjson(bodyText(await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T1' }))) as {
      queueDatas: Array<{ brokerName: string }>;
      brokerDatas: Array<{ brokerName: string }>;
    };
    expect(t1.queueDatas.map((q) => q.brokerName)).toEqual(['broker-c']);
    expect(t1.brokerDatas.map((b) => b.brokerName)).toEqual(['broker-c']);

    expect((await call(RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic: 'T2' })).code).toBe(ResponseCode.SUCCESS);
    expect((await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T2' })).code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    // Deleting an unknown topic is not an error.
    expect((await call(RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic: 'Ghost' })).code).toBe(ResponseCode.SUCCESS);
  });

  it('wipes and restores the write permission of a broker group', async () => {
    await registerTwoGroups();
    const perms = async (t: string): Promise<Record<string, number>> => {
      const r = parseFastjson(bodyText(await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: t }))) as {
        queueDatas: Array<{ brokerName: string; perm: number }>;
      };
      return Object.fromEntries(r.queueDatas.map((q) => [q.brokerName, q.perm]));
    };
    const wipe = await call(RequestCode.WIPE_WRITE_PERM_OF_BROKER, { brokerName: 'broker-a' });
    expect(wipe.code).toBe(ResponseCode.SUCCESS);
    expect(wipe.extFields?.wipeTopicCount).toBe('2');
    expect(await perms('TopicA')).toEqual({ 'broker-a': 4, 'broker-b': 6 });
    expect(await perms('TBW102')).toEqual({ 'broker-a': 5 });

    // Re-registering with the same DataVersion does not undo the wipe (Java behaviour).
    await registerBrokerAll(client, [ns.address], ident('broker-a', 0, 10911), table(topic('TopicA', 8), topic('TBW102', 8, 7)), dv(1));
    expect(await perms('TopicA')).toEqual({ 'broker-a': 4, 'broker-b': 6 });

    const add = await call(RequestCode.ADD_WRITE_PERM_OF_BROKER, { brokerName: 'broker-a' });
    expect(add.code).toBe(ResponseCode.SUCCESS);
    expect(add.extFields?.addTopicCount).toBe('2');
    expect(await perms('TopicA')).toEqual({ 'broker-a': 6, 'broker-b': 6 });
    expect(await perms('TBW102')).toEqual({ 'broker-a': 7 });

    const none = await call(RequestCode.WIPE_WRITE_PERM_OF_BROKER, { brokerName: 'no-such-broker' });
    expect(none.extFields?.wipeTopicCount).toBe('0');
  });

  it('updates QueueData when the master registers a new DataVersion', async () => {
    await registerBrokerAll(client, [ns.address], ident('broker-a', 0, 10911), table(topic('T', 4)), dv(1));
    await registerBrokerAll(client, [ns.address], ident('broker-a', 0, 10911), table(topic('T', 16)), dv(2));
    const r = parseFastjson(bodyText(await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }))) as {
      queueDatas: Array<{ writeQueueNums: number }>;
    };
    expect(r.queueDatas).toEqual([expect.objectContaining({ writeQueueNums: 16 })]);
  });

  it('answers QUERY_DATA_VERSION', async () => {
    const me = ident('broker-a', 0, 10911);
    const unknown = await queryDataVersion(client, ns.address, me, dv(5));
    expect(unknown).toEqual({ changed: true });
    await registerBrokerAll(client, [ns.address], me, table(topic('T')), dv(5));
    expect(await queryDataVersion(client, ns.address, me, dv(5))).toEqual({ changed: false, nameServerDataVersion: dv(5) });
    expect(await queryDataVersion(client, ns.address, me, dv(6))).toEqual({ changed: true, nameServerDataVersion: dv(5) });
    const noBody = await call(RequestCode.QUERY_DATA_VERSION, { brokerName: 'broker-a', brokerAddr: me.brokerAddr, clusterName: 'DefaultCluster', brokerId: 0 });
    expect(noBody.code).toBe(ResponseCode.SYSTEM_ERROR);
  });

  describe('REGISTER_BROKER validation', () => {
    const header = (body: Buffer, extra: HeaderValues = {}): HeaderValues => ({
      brokerName: 'broker-a', brokerAddr: '127.0.0.1:10911', clusterName: 'DefaultCluster', haServerAddr: '127.0.0.1:10912',
      brokerId: 0, compressed: false, bodyCrc32: (crc32(body) & 0x7fffffff) >>> 0, ...extra,
    });

    it('rejects a body whose CRC32 does not match', async () => {
      const body = encodeRegisterBrokerBody(table(topic('T')), dv(1));
      const res = await call(RequestCode.REGISTER_BROKER, header(body, { bodyCrc32: 12345 }), body, 409);
      expect(res.code).toBe(ResponseCode.SYSTEM_ERROR);
      expect(res.remark).toBe('crc32 not match');
      expect(ns.routes.liveBrokerAddrs()).toEqual([]);
      // bodyCrc32 0 means "unchecked".
      const ok = await call(RequestCode.REGISTER_BROKER, header(body, { bodyCrc32: 0 }), body, 409);
      expect(ok.code).toBe(ResponseCode.SUCCESS);
    });

    it('names a missing required header field', async () => {
      const body = encodeRegisterBrokerBody(table(topic('T')), dv(1));
      for (const field of ['brokerName', 'brokerAddr', 'clusterName', 'haServerAddr', 'brokerId']) {
        const h = header(body);
        delete h[field];
        const res = await call(RequestCode.REGISTER_BROKER, h, body, 409);
        expect(res.code).toBe(ResponseCode.SYSTEM_ERROR);
        expect(res.remark).toContain(`<${field}>`);
      }
      const noTopic = await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, {});
      expect(noTopic.code).toBe(ResponseCode.SYSTEM_ERROR);
      expect(noTopic.remark).toBe('the custom field <topic> is null');
      const badId = await call(RequestCode.REGISTER_BROKER, header(body, { brokerId: 'one' }), body, 409);
      expect(badId.code).toBe(ResponseCode.SYSTEM_ERROR);
      expect(badId.remark).toContain('<brokerId>');
      for (const code of [RequestCode.PUT_KV_CONFIG, RequestCode.GET_KV_CONFIG, RequestCode.DELETE_KV_CONFIG,
        RequestCode.GET_KVLIST_BY_NAMESPACE, RequestCode.WIPE_WRITE_PERM_OF_BROKER, RequestCode.ADD_WRITE_PERM_OF_BROKER,
        RequestCode.GET_TOPICS_BY_CLUSTER, RequestCode.DELETE_TOPIC_IN_NAMESRV, RequestCode.UNREGISTER_BROKER,
        RequestCode.QUERY_DATA_VERSION]) {
        const res = await call(code, {});
        expect(res.code, `code ${code}`).toBe(ResponseCode.SYSTEM_ERROR);
        expect(res.remark, `code ${code}`).toMatch(/^the custom field <\w+> is null$/);
      }
    });

    it('rejects a malformed body with a clear remark and keeps the connection', async () => {
      for (const text of ['not json{', '[1,2]', '{"topicConfigSerializeWrapper":{"topicConfigTable":{"T":5}}}',
        '{"topicConfigSerializeWrapper":{"topicConfigTable":{"T":{"readQueueNums":"x"}}}}']) {
        const body = Buffer.from(text);
        const res = await call(RequestCode.REGISTER_BROKER, header(body), body, 409);
        expect(res.code, text).toBe(ResponseCode.SYSTEM_ERROR);
        expect(res.remark, text).toMatch(/^Failed to decode RegisterBrokerBody/);
      }
      const badCompressed = Buffer.from('definitely not zlib');
      const res = await call(RequestCode.REGISTER_BROKER, header(badCompressed, { compressed: true }), badCompressed, 409);
      expect(res.code).toBe(ResponseCode.SYSTEM_ERROR);
      expect(res.remark).toMatch(/compressed body does not inflate/);
      const badDv = await call(RequestCode.QUERY_DATA_VERSION,
        { brokerName: 'b', brokerAddr: 'a:1', clusterName: 'c', brokerId: 0 }, Buffer.from('{oops'));
      expect(badDv.code).toBe(ResponseCode.SYSTEM_ERROR);
      expect(badDv.remark).toMatch(/^Failed to decode DataVersion: body is not valid JSON/);
      expect(ns.routes.liveBrokerAddrs()).toEqual([]);
      // Same connection, still serving.
      expect((await call(RequestCode.GET_BROKER_CLUSTER_INFO)).code).toBe(ResponseCode.SUCCESS);
    });

    it('accepts the compressed body form', async () => {
      const int = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
      const chunk = (s: string): Buffer => Buffer.concat([int(Buffer.byteLength(s)), Buffer.from(s)]);
      const raw = Buffer.concat([
        chunk('{"counter":3,"stateVersion":0,"timestamp":1700000000000}'),
        int(2),
        chunk('TopicZ 8 8 6 SINGLE_TAG'),
        chunk('TopicY 2 2 4 SINGLE_TAG {"+queue.type":"Normal"}'),
        chunk('[]'),
      ]);
      const body = deflateSync(raw);
      const res = await call(RequestCode.REGISTER_BROKER, header(body, { compressed: true }), body, 409);
      expect(res.code).toBe(ResponseCode.SUCCESS);
      const z = parseFastjson(bodyText(await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicZ' }))) as { queueDatas: unknown[] };
      expect(z.queueDatas).toEqual([{ brokerName: 'broker-a', perm: 6, readQueueNums: 8, topicSysFlag: 0, writeQueueNums: 8 }]);
      const y = parseFastjson(bodyText(await call(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicY' }))) as { queueDatas: unknown[] };
      expect(y.queueDatas).toEqual([{ brokerName: 'broker-a', perm: 4, readQueueNums: 2, topicSysFlag: 0, writeQueueNums: 2 }]);
      expect(ns.routes.getBrokerLiveInfo('127.0.0.1:10911')?.dataVersion).toEqual(dv(3));
    });

    it('registers with no body (Java treats it as DataVersion 0 and no topics)', async () => {
      const res = await call(RequestCode.REGISTER_BROKER, header(Buffer.alloc(0), { bodyCrc32: 0 }), undefined, 409);
      expect(res.code).toBe(ResponseCode.SUCCESS);
      expect(ns.routes.getBrokerLiveInfo('127.0.0.1:10911')?.dataVersion).toEqual({ stateVersion: 0, timestamp: 0, counter: 0 });
    });
  });

  it('reports a NameServer that cannot be reached without failing the others', async () => {
    const out = await registerBrokerAll(client, [ns.address, '127.0.0.1:1'], ident('broker-a', 0, 10911), table(topic('T')), dv(1));
    expect(out[0]).toMatchObject({ ok: true });
    expect(out[1]).toMatchObject({ namesrvAddr: '127.0.0.1:1', ok: false });
  });
});
