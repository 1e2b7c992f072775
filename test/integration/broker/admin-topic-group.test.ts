/**
 * Topic admin across the cluster: UPDATE_AND_CREATE_TOPIC (17) on both masters via MQAdmin,
 * GET_ALL_TOPIC_CONFIG (21), GET_ROUTEINFO_BY_TOPIC (105), DELETE_TOPIC_IN_BROKER (215) +
 * DELETE_TOPIC_IN_NAMESRV (216), GET_BROKER_CLUSTER_INFO (106), QUERY_TOPIC_CONSUME_BY_WHO (300)
 * (reference §7.1, §7.6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MQAdmin } from '../../../src-main/remoting/admin/mq-admin.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { waitFor } from '../../harness/temp-dir.js';
import {
  body, call, heartbeatBody, num, pull, send, sleep, startTestCluster, type TestCluster,
} from '../../harness/broker-protocol.js';

let t: TestCluster;
let admin: MQAdmin;

beforeAll(async () => {
  t = await startTestCluster('it-admin');
  admin = new MQAdmin(t.namesrv);
});

afterAll(async () => {
  admin?.close();
  await t?.stop();
});

interface TopicConfigView {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicFilterType: string;
  topicSysFlag: number;
  order: boolean;
}

const topicTable = async (addr: string): Promise<Record<string, TopicConfigView>> =>
  body<{ topicConfigTable: Record<string, TopicConfigView> }>(await call(t.client, addr, RequestCode.GET_ALL_TOPIC_CONFIG)).topicConfigTable;

interface Route {
  queueDatas: Array<{ brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number; topicSysFlag: number }>;
  brokerDatas: Array<{ cluster: string; brokerName: string; brokerAddrs: Record<string, string> }>;
}

async function waitRoute(topic: string, brokers: number): Promise<Route> {
  let route: Route | undefined;
  await waitFor(async () => {
    const r = await call(t.client, t.namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
    if (r.code !== ResponseCode.SUCCESS) return false;
    route = body<Route>(r);
    return route.queueDatas.length === brokers;
  }, 5000, `route of ${topic} with ${brokers} brokers`);
  return route!;
}

describe('UPDATE_AND_CREATE_TOPIC on both masters', () => {
  it('creates the topic on broker-a and broker-b and routes it through the NameServer', async () => {
    const topic = 'AdminTopic';
    await admin.createTopic(topic, 4);
    for (const addr of [t.brokerA, t.brokerB]) {
      expect((await topicTable(addr))[topic]).toEqual({
        topicName: topic, readQueueNums: 4, writeQueueNums: 4, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
      });
    }

    const route = await waitRoute(topic, 2);
    expect(route.queueDatas.map((q) => q.brokerName).sort()).toEqual(['broker-a', 'broker-b']);
    for (const q of route.queueDatas) expect(q).toMatchObject({ readQueueNums: 4, writeQueueNums: 4, perm: 6 });
    const a = route.brokerDatas.find((b) => b.brokerName === 'broker-a')!;
    expect(a.cluster).toBe('DefaultCluster');
    expect(a.brokerAddrs).toEqual({ 0: t.brokerA, 1: t.cluster.broker('broker-a', 1)!.address });

    // Sends to either master land in the new queues.
    expect((await send(t.client, t.brokerA, { topic, queueId: 3 })).queueOffset).toBe(0);
    expect((await send(t.client, t.brokerB, { topic, queueId: 3 })).queueOffset).toBe(0);
  });

  it('updates an existing topic (queue count and perm) in place', async () => {
    const topic = 'AdminTopicUpdate';
    await admin.createTopic(topic, 2);
    await waitRoute(topic, 2);
    await admin.createTopic(topic, 6, { perm: 4 });
    expect((await topicTable(t.brokerA))[topic]).toMatchObject({ readQueueNums: 6, writeQueueNums: 6, perm: 4 });
    await waitFor(async () => {
      const r = body<Route>(await call(t.client, t.namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }));
      return r.queueDatas.every((q) => q.perm === 4 && q.writeQueueNums === 6);
    }, 5000, 'the updated route');
    // Read-only now: sends are refused.
    const res = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2,
      { a: 'PID', b: topic, c: 'TBW102', d: 4, e: 0, f: 0, g: Date.now(), h: 0 }, Buffer.from('x'));
    expect(res.code).toBe(ResponseCode.NO_PERMISSION);
  });

  it('refuses bad names, system-topic clashes and bad queue counts', async () => {
    const create = (topic: string, queues = 4) => call(t.client, t.brokerA, RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic, defaultTopic: 'TBW102', readQueueNums: queues, writeQueueNums: queues, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
    });
    expect((await create('bad topic')).code).toBe(ResponseCode.INVALID_PARAMETER);
    expect((await create('TBW102')).code).toBe(ResponseCode.INVALID_PARAMETER);
    expect((await create('DefaultCluster')).code).toBe(ResponseCode.INVALID_PARAMETER);
    expect((await create('broker-a')).code).toBe(ResponseCode.INVALID_PARAMETER);
    expect((await create('AdminZeroQueues', 0)).code).toBe(ResponseCode.INVALID_PARAMETER);
    const missing = await call(t.client, t.brokerA, RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'AdminMissing', defaultTopic: 'TBW102' });
    expect(missing.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(missing.remark).toContain('readQueueNums');
    const table = await topicTable(t.brokerA);
    expect(table['bad topic']).toBeUndefined();
    expect(table.AdminZeroQueues).toBeUndefined();
    expect(table.AdminMissing).toBeUndefined();
  });

  it('GET_ALL_TOPIC_CONFIG has the system topics and a dataVersion that grows with changes', async () => {
    const res = body<{ dataVersion: { counter: number; timestamp: number; stateVersion: number }; topicConfigTable: Record<string, TopicConfigView> }>(
      await call(t.client, t.brokerA, RequestCode.GET_ALL_TOPIC_CONFIG));
    expect(res.topicConfigTable.TBW102).toMatchObject({ perm: 7, writeQueueNums: 8 });
    expect(res.topicConfigTable.SCHEDULE_TOPIC_XXXX).toMatchObject({ readQueueNums: 18 });
    expect(res.topicConfigTable['broker-a']).toBeDefined();
    expect(res.topicConfigTable.DefaultCluster).toBeDefined();
    await admin.createTopic('AdminVersionBump', 1);
    const after = body<{ dataVersion: { counter: number } }>(await call(t.client, t.brokerA, RequestCode.GET_ALL_TOPIC_CONFIG));
    expect(after.dataVersion.counter).toBeGreaterThan(res.dataVersion.counter);
  });
});

describe('DELETE_TOPIC_IN_BROKER (215) + DELETE_TOPIC_IN_NAMESRV (216)', () => {
  it('removes the topic config, its queues and offsets from the brokers and its route from the NameServer', async () => {
    const topic = 'AdminDeleteMe';
    await admin.createTopic(topic, 2);
    await waitRoute(topic, 2);
    for (let i = 0; i < 3; i++) await send(t.client, t.brokerA, { topic, queueId: 0, body: `d${i}` });
    await call(t.client, t.brokerA, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'CID_DEL', topic, queueId: 0, commitOffset: 2 });

    const delA = await call(t.client, t.brokerA, RequestCode.DELETE_TOPIC_IN_BROKER, { topic });
    expect(delA.code).toBe(ResponseCode.SUCCESS);
    const delB = await call(t.client, t.brokerB, RequestCode.DELETE_TOPIC_IN_BROKER, { topic });
    expect(delB.code).toBe(ResponseCode.SUCCESS);
    const delNs = await call(t.client, t.namesrv, RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic });
    expect(delNs.code).toBe(ResponseCode.SUCCESS);

    expect((await topicTable(t.brokerA))[topic]).toBeUndefined();
    expect((await topicTable(t.brokerB))[topic]).toBeUndefined();
    const route = await call(t.client, t.namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
    expect(route.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    expect(route.remark).toContain(`No topic route info in name server for the topic: ${topic}`);
    const list = body<{ topicList: string[] }>(await call(t.client, t.namesrv, RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER));
    expect(list.topicList).not.toContain(topic);

    expect(num(await call(t.client, t.brokerA, RequestCode.GET_MAX_OFFSET, { topic, queueId: 0 }), 'offset')).toBe(0);
    expect((await pull(t.client, t.brokerA, { topic, queueOffset: 0 })).code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    const q = await call(t.client, t.brokerA, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'CID_DEL', topic, queueId: 0, setZeroIfNotFound: false });
    expect(q.code).toBe(ResponseCode.QUERY_NOT_FOUND);

    // Later broker registrations do not bring it back.
    await sleep(300);
    expect((await call(t.client, t.namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic })).code).toBe(ResponseCode.TOPIC_NOT_EXIST);

    // Re-creating it starts from empty queues.
    const again = await send(t.client, t.brokerA, { topic, queueId: 0, body: 'reborn' });
    expect(again.queueOffset).toBe(0);
    const p = await pull(t.client, t.brokerA, { topic, queueOffset: 0 });
    expect(p.messages.map((m) => m.body.toString())).toEqual(['reborn']);
  });

  it('MQAdmin.deleteTopic does both steps on every master', async () => {
    const topic = 'AdminDeleteViaAdmin';
    await admin.createTopic(topic, 1);
    await waitRoute(topic, 2);
    await admin.deleteTopic(topic);
    expect((await topicTable(t.brokerA))[topic]).toBeUndefined();
    expect((await topicTable(t.brokerB))[topic]).toBeUndefined();
    expect((await call(t.client, t.namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic })).code).toBe(ResponseCode.TOPIC_NOT_EXIST);
  });

  it('refuses to delete a system topic', async () => {
    const res = await call(t.client, t.brokerA, RequestCode.DELETE_TOPIC_IN_BROKER, { topic: 'SCHEDULE_TOPIC_XXXX' });
    expect(res.code).toBe(ResponseCode.INVALID_PARAMETER);
    expect((await topicTable(t.brokerA)).SCHEDULE_TOPIC_XXXX).toBeDefined();
  });
});

describe('GET_BROKER_CLUSTER_INFO (106)', () => {
  it('shows both broker groups with master id 0 and slave id 1, in fastjson bare-key form', async () => {
    const res = await call(t.client, t.namesrv, RequestCode.GET_BROKER_CLUSTER_INFO);
    expect(res.code).toBe(ResponseCode.SUCCESS);
    const text = res.body!.toString();
    expect(text).toContain(`"brokerAddrs":{0:"${t.brokerA}",1:"${t.cluster.broker('broker-a', 1)!.address}"}`);
    const info = body<{
      brokerAddrTable: Record<string, { cluster: string; brokerName: string; brokerAddrs: Record<string, string> }>;
      clusterAddrTable: Record<string, string[]>;
    }>(res);
    expect(Object.keys(info.brokerAddrTable).sort()).toEqual(['broker-a', 'broker-b']);
    expect(info.brokerAddrTable['broker-a']).toMatchObject({
      cluster: 'DefaultCluster', brokerName: 'broker-a',
      brokerAddrs: { 0: t.brokerA, 1: t.cluster.broker('broker-a', 1)!.address },
    });
    expect(info.brokerAddrTable['broker-b']!.brokerAddrs).toEqual({ 0: t.brokerB, 1: t.cluster.broker('broker-b', 1)!.address });
    expect(info.clusterAddrTable).toEqual({ DefaultCluster: ['broker-a', 'broker-b'] });
  });
});

describe('QUERY_TOPIC_CONSUME_BY_WHO (300)', () => {
  it('lists groups with offsets on the topic and online groups subscribed to it', async () => {
    const topic = 'AdminConsumedBy';
    await send(t.client, t.brokerA, { topic, queueId: 0 });
    const empty = body<{ groupList: string[] }>(await call(t.client, t.brokerA, RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, { topic }));
    expect(empty.groupList).toEqual([]);

    await call(t.client, t.brokerA, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'CID_WITH_OFFSET', topic, queueId: 0, commitOffset: 1 });
    const hb = await call(t.client, t.brokerA, RequestCode.HEART_BEAT, undefined,
      heartbeatBody('127.0.0.1@who', [{ groupName: 'CID_ONLINE', subscriptions: [{ topic }] }]));
    expect(hb.code).toBe(ResponseCode.SUCCESS);
    const res = await call(t.client, t.brokerA, RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, { topic });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    expect(body<{ groupList: string[] }>(res).groupList.sort()).toEqual(['CID_ONLINE', 'CID_WITH_OFFSET']);
    const missing = await call(t.client, t.brokerA, RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, {});
    expect(missing.code).toBe(ResponseCode.SYSTEM_ERROR);
  });
});
