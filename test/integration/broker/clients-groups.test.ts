/**
 * Clients and groups: HEART_BEAT (34), GET_CONSUMER_LIST_BY_GROUP (38), GET_CONSUMER_CONNECTION_LIST
 * (203), GET_PRODUCER_CONNECTION_LIST (204), NOTIFY_CONSUMER_IDS_CHANGED (40, broker → client),
 * UNREGISTER_CLIENT (35), and subscription-group admin UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) /
 * GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) / DELETE_SUBSCRIPTIONGROUP (207) (reference §7.4, §7.6).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { createRequest, type RemotingCommand } from '../../../src-main/remoting/remoting-command.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { waitFor } from '../../harness/temp-dir.js';
import {
  body, call, heartbeatBody, send, sleep, startTestCluster, type ConsumerSpec, type TestCluster,
} from '../../harness/broker-protocol.js';

let t: TestCluster;
const clients: RemotingClient[] = [];

/** A client of its own: one TCP connection per broker, closed after the test. */
function newClient(): RemotingClient {
  const c = new RemotingClient({ defaultTimeoutMs: 5000 });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  t = await startTestCluster('it-clients');
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await t?.stop();
});

async function heartbeat(client: RemotingClient, clientId: string, consumers: ConsumerSpec[], producers: string[] = [],
  addr = t.brokerA): Promise<RemotingCommand> {
  return client.invoke(addr, createRequest(RequestCode.HEART_BEAT, undefined, heartbeatBody(clientId, consumers, producers)));
}

const consumerList = (group: string, client = t.client) =>
  call(client, t.brokerA, RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: group });

interface ConsumerConnection {
  connectionSet: Array<{ clientId: string; clientAddr: string; language: string; version: number }>;
  subscriptionTable: Record<string, { topic: string; subString: string; expressionType: string }>;
  consumeType: string;
  messageModel: string;
  consumeFromWhere: string;
}

describe('HEART_BEAT registers consumers and producers', () => {
  it('lists the consumer, creates the retry topic and shows the connection details', async () => {
    const group = 'CID_HB_ONE';
    const topic = 'ClientsTopic';
    await send(t.client, t.brokerA, { topic, queueId: 0 });
    const c = newClient();
    const req = createRequest(RequestCode.HEART_BEAT, undefined,
      heartbeatBody('127.0.0.1@inst-1', [{ groupName: group, subscriptions: [{ topic, subString: 'TagA || TagB' }] }], ['PID_HB_ONE']));
    req.language = 'NODE_JS';
    req.version = 121;
    const res = await c.invoke(t.brokerA, req);
    expect(res.code).toBe(ResponseCode.SUCCESS);

    const list = await consumerList(group);
    expect(list.code).toBe(ResponseCode.SUCCESS);
    expect(body(list)).toEqual({ consumerIdList: ['127.0.0.1@inst-1'] });

    // The group's retry topic exists on the broker and reaches the NameServer.
    const topics = body<{ topicConfigTable: Record<string, { readQueueNums: number; writeQueueNums: number; perm: number }> }>(
      await call(t.client, t.brokerA, RequestCode.GET_ALL_TOPIC_CONFIG));
    expect(topics.topicConfigTable[`%RETRY%${group}`]).toMatchObject({ readQueueNums: 1, writeQueueNums: 1, perm: 6 });
    await waitFor(async () => (await call(t.client, t.namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: `%RETRY%${group}` })).code === 0,
      5000, 'the retry topic route');
    // ... and the subscription group was auto-created.
    const groups = body<{ subscriptionGroupTable: Record<string, unknown> }>(
      await call(t.client, t.brokerA, RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG));
    expect(groups.subscriptionGroupTable[group]).toBeDefined();

    const conn = await c.getConnection(t.brokerA);
    const cc = await call(t.client, t.brokerA, RequestCode.GET_CONSUMER_CONNECTION_LIST, { consumerGroup: group });
    expect(cc.code).toBe(ResponseCode.SUCCESS);
    const info = body<ConsumerConnection>(cc);
    expect(info.connectionSet).toEqual([{ clientId: '127.0.0.1@inst-1', clientAddr: conn.localAddress, language: 'NODE_JS', version: 121 }]);
    expect(Object.keys(info.subscriptionTable)).toEqual([topic]);
    expect(info.subscriptionTable[topic]).toMatchObject({ topic, subString: 'TagA || TagB', expressionType: 'TAG' });
    expect(info).toMatchObject({ consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET' });

    const pc = await call(t.client, t.brokerA, RequestCode.GET_PRODUCER_CONNECTION_LIST, { producerGroup: 'PID_HB_ONE' });
    expect(pc.code).toBe(ResponseCode.SUCCESS);
    expect(body<{ connectionSet: unknown[] }>(pc).connectionSet)
      .toEqual([{ clientId: '127.0.0.1@inst-1', clientAddr: conn.localAddress, language: 'NODE_JS', version: 121 }]);

    const noProducer = await call(t.client, t.brokerA, RequestCode.GET_PRODUCER_CONNECTION_LIST, { producerGroup: 'PID_NOBODY' });
    expect(noProducer.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(noProducer.remark).toContain('not exist');
    const noConsumer = await call(t.client, t.brokerA, RequestCode.GET_CONSUMER_CONNECTION_LIST, { consumerGroup: 'CID_NOBODY' });
    expect(noConsumer.code).toBe(ResponseCode.CONSUMER_NOT_ONLINE);
  });

  it('closing the client connection removes its consumer and producer registrations', async () => {
    const group = 'CID_HB_CLOSE';
    const c = newClient();
    expect((await heartbeat(c, '127.0.0.1@closing', [{ groupName: group, subscriptions: [{ topic: 'ClientsTopic' }] }], ['PID_HB_CLOSE'])).code)
      .toBe(ResponseCode.SUCCESS);
    expect((await consumerList(group)).code).toBe(ResponseCode.SUCCESS);
    c.close();
    await waitFor(async () => (await consumerList(group)).code !== ResponseCode.SUCCESS, 3000, 'the consumer to be removed');
    const gone = await consumerList(group);
    expect(gone.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(gone.remark).toBe(`no consumer for this group, ${group}`);
    const pc = await call(t.client, t.brokerA, RequestCode.GET_PRODUCER_CONNECTION_LIST, { producerGroup: 'PID_HB_CLOSE' });
    expect(pc.code).toBe(ResponseCode.SYSTEM_ERROR);
  });

  it('a heartbeat to one broker does not register the client on the other', async () => {
    const c = newClient();
    await heartbeat(c, '127.0.0.1@only-a', [{ groupName: 'CID_ONLY_A', subscriptions: [{ topic: 'ClientsTopic' }] }]);
    const onB = await call(t.client, t.brokerB, RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: 'CID_ONLY_A' });
    expect(onB.code).toBe(ResponseCode.SYSTEM_ERROR);
  });

  it('a broadcasting consumer gets no retry topic', async () => {
    const c = newClient();
    const group = 'CID_HB_BROADCAST';
    await heartbeat(c, '127.0.0.1@bc', [{ groupName: group, messageModel: 'BROADCASTING', subscriptions: [{ topic: 'ClientsTopic' }] }]);
    expect(body(await consumerList(group))).toEqual({ consumerIdList: ['127.0.0.1@bc'] });
    const topics = body<{ topicConfigTable: Record<string, unknown> }>(await call(t.client, t.brokerA, RequestCode.GET_ALL_TOPIC_CONFIG));
    expect(topics.topicConfigTable[`%RETRY%${group}`]).toBeUndefined();
  });

  it('a bad heartbeat body is SYSTEM_ERROR and the connection stays usable', async () => {
    const c = newClient();
    const bad = await c.invoke(t.brokerA, createRequest(RequestCode.HEART_BEAT, undefined, Buffer.from('{"clientID": oops')));
    expect(bad.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(bad.remark).toContain('heartbeat body is not valid JSON');
    const conn = await c.getConnection(t.brokerA);
    const invalid = await c.invoke(t.brokerA, createRequest(RequestCode.HEART_BEAT, undefined, Buffer.from('{"producerDataSet":[]}')));
    expect(invalid.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(invalid.remark).toContain('clientID');
    const empty = await c.invoke(t.brokerA, createRequest(RequestCode.HEART_BEAT));
    expect(empty.code).toBe(ResponseCode.SYSTEM_ERROR);
    const good = await heartbeat(c, '127.0.0.1@after-bad', [{ groupName: 'CID_AFTER_BAD', subscriptions: [{ topic: 'ClientsTopic' }] }]);
    expect(good.code).toBe(ResponseCode.SUCCESS);
    expect(await c.getConnection(t.brokerA)).toBe(conn);
    expect(conn.closed).toBe(false);
    expect(body(await consumerList('CID_AFTER_BAD'))).toEqual({ consumerIdList: ['127.0.0.1@after-bad'] });
  });
});

describe('NOTIFY_CONSUMER_IDS_CHANGED (40) and UNREGISTER_CLIENT (35)', () => {
  it('tells existing consumers when a member joins, leaves by unregister, and leaves by disconnect', async () => {
    const group = 'CID_NOTIFY';
    const sub = [{ groupName: group, subscriptions: [{ topic: 'ClientsTopic' }] }];
    // Every membership change sends exactly one notice to each member still in the group.
    const first = newClient();
    const notices: RemotingCommand[] = [];
    first.registerProcessor(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (req) => {
      notices.push(req);
      return null;
    });
    const second = newClient();
    const secondNotices: RemotingCommand[] = [];
    second.registerProcessor(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (req) => {
      secondNotices.push(req);
      return null;
    });
    const noticesReach = (n: number, what: string) => waitFor(() => notices.length >= n, 3000, what);

    await heartbeat(first, '127.0.0.1@first', sub);
    await noticesReach(1, 'the notice of its own join');

    await heartbeat(second, '127.0.0.1@second', sub);
    await noticesReach(2, 'NOTIFY_CONSUMER_IDS_CHANGED to the first consumer');
    const n = notices[1]!;
    expect(n.code).toBe(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED);
    expect(n.flag & 2).toBe(2);
    expect(n.flag & 1).toBe(0);
    expect(n.extFields).toEqual({ consumerGroup: group });
    expect(n.body).toBeUndefined();
    await waitFor(() => secondNotices.length === 1, 3000, 'the notice to the joiner');
    expect(body<{ consumerIdList: string[] }>(await consumerList(group)).consumerIdList.sort()).toEqual(['127.0.0.1@first', '127.0.0.1@second']);

    // A repeated heartbeat with nothing changed does not notify.
    await heartbeat(second, '127.0.0.1@second', sub);
    await sleep(200);
    expect(notices).toHaveLength(2);

    // UNREGISTER_CLIENT removes the second member and tells the first (not the one that left).
    const unreg = await second.invoke(t.brokerA, createRequest(RequestCode.UNREGISTER_CLIENT,
      { clientID: '127.0.0.1@second', consumerGroup: group, producerGroup: undefined }));
    expect(unreg.code).toBe(ResponseCode.SUCCESS);
    await noticesReach(3, 'the notice after unregister');
    expect(body(await consumerList(group))).toEqual({ consumerIdList: ['127.0.0.1@first'] });

    // Re-join, then drop the connection: the first is told both times.
    await heartbeat(second, '127.0.0.1@second', sub);
    await noticesReach(4, 'the notice after the re-join');
    await waitFor(() => secondNotices.length === 2, 3000, 'the notice to the re-joiner');
    second.close();
    await noticesReach(5, 'the notice after disconnect');
    expect(body(await consumerList(group))).toEqual({ consumerIdList: ['127.0.0.1@first'] });
    await sleep(200);
    expect(notices).toHaveLength(5);
    expect(secondNotices).toHaveLength(2);
    expect(notices.every((x) => x.extFields?.consumerGroup === group)).toBe(true);
  });

  it('sends no notices for a group with notifyConsumerIdsChangedEnable=false (join or unregister)', async () => {
    const group = 'CID_NO_NOTIFY';
    const created = await call(t.client, t.brokerA, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, undefined,
      Buffer.from(JSON.stringify({ groupName: group, notifyConsumerIdsChangedEnable: false })));
    expect(created.code).toBe(ResponseCode.SUCCESS);
    const sub = [{ groupName: group, subscriptions: [{ topic: 'ClientsTopic' }] }];
    const first = newClient();
    const notices: RemotingCommand[] = [];
    first.registerProcessor(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (req) => {
      notices.push(req);
      return null;
    });
    await heartbeat(first, '127.0.0.1@quiet-1', sub);
    const second = newClient();
    await heartbeat(second, '127.0.0.1@quiet-2', sub);
    expect(body<{ consumerIdList: string[] }>(await consumerList(group)).consumerIdList).toHaveLength(2);
    const unreg = await second.invoke(t.brokerA, createRequest(RequestCode.UNREGISTER_CLIENT, { clientID: '127.0.0.1@quiet-2', consumerGroup: group }));
    expect(unreg.code).toBe(ResponseCode.SUCCESS);
    expect(body(await consumerList(group))).toEqual({ consumerIdList: ['127.0.0.1@quiet-1'] });
    await sleep(300);
    expect(notices).toHaveLength(0);
  });

  it('UNREGISTER_CLIENT of a producer removes it; a missing clientID is SYSTEM_ERROR', async () => {
    const c = newClient();
    await heartbeat(c, '127.0.0.1@prod', [], ['PID_UNREG']);
    expect((await call(t.client, t.brokerA, RequestCode.GET_PRODUCER_CONNECTION_LIST, { producerGroup: 'PID_UNREG' })).code)
      .toBe(ResponseCode.SUCCESS);
    const res = await c.invoke(t.brokerA, createRequest(RequestCode.UNREGISTER_CLIENT, { clientID: '127.0.0.1@prod', producerGroup: 'PID_UNREG' }));
    expect(res.code).toBe(ResponseCode.SUCCESS);
    expect((await call(t.client, t.brokerA, RequestCode.GET_PRODUCER_CONNECTION_LIST, { producerGroup: 'PID_UNREG' })).code)
      .toBe(ResponseCode.SYSTEM_ERROR);
    const missing = await c.invoke(t.brokerA, createRequest(RequestCode.UNREGISTER_CLIENT, { producerGroup: 'PID_UNREG' }));
    expect(missing.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(missing.remark).toContain('clientID');
  });
});

describe('subscription group admin (200 / 201 / 207)', () => {
  interface GroupTable {
    dataVersion: { counter: number; timestamp: number };
    subscriptionGroupTable: Record<string, Record<string, unknown>>;
  }
  const allGroups = async (): Promise<GroupTable> => body<GroupTable>(await call(t.client, t.brokerA, RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG));

  it('creates, updates, lists and deletes a subscription group', async () => {
    const group = 'CID_ADMIN_GROUP';
    const before = await allGroups();
    expect(before.subscriptionGroupTable[group]).toBeUndefined();

    const create = await call(t.client, t.brokerA, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, undefined,
      Buffer.from(JSON.stringify({ groupName: group, retryMaxTimes: 5, consumeBroadcastEnable: false })));
    expect(create.code).toBe(ResponseCode.SUCCESS);
    const created = await allGroups();
    expect(created.subscriptionGroupTable[group]).toEqual({
      groupName: group, consumeEnable: true, consumeFromMinEnable: true, consumeBroadcastEnable: false, retryQueueNums: 1,
      retryMaxTimes: 5, brokerId: 0, whichBrokerWhenConsumeSlowly: 1, notifyConsumerIdsChangedEnable: true,
      consumeMessageOrderly: false,
    });
    expect(created.dataVersion.counter).toBeGreaterThan(before.dataVersion.counter);

    // An update keeps fields it does not name.
    await call(t.client, t.brokerA, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, undefined,
      Buffer.from(JSON.stringify({ groupName: group, consumeEnable: false })));
    expect((await allGroups()).subscriptionGroupTable[group]).toMatchObject({ consumeEnable: false, retryMaxTimes: 5 });

    // A disabled group may not pull.
    await send(t.client, t.brokerA, { topic: 'ClientsTopic', queueId: 0 });
    const denied = await call(t.client, t.brokerA, RequestCode.PULL_MESSAGE, {
      consumerGroup: group, topic: 'ClientsTopic', queueId: 0, queueOffset: 0, maxMsgNums: 1, sysFlag: 4,
      commitOffset: 0, suspendTimeoutMillis: 1000, subscription: '*', subVersion: 0,
    });
    expect(denied.code).toBe(ResponseCode.NO_PERMISSION);

    // The other master does not have it.
    const onB = body<GroupTable>(await call(t.client, t.brokerB, RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG));
    expect(onB.subscriptionGroupTable[group]).toBeUndefined();

    const del = await call(t.client, t.brokerA, RequestCode.DELETE_SUBSCRIPTIONGROUP, { groupName: group, cleanOffset: true });
    expect(del.code).toBe(ResponseCode.SUCCESS);
    expect((await allGroups()).subscriptionGroupTable[group]).toBeUndefined();
  });

  it('refuses a bad group name and a body that is not JSON', async () => {
    const badName = await call(t.client, t.brokerA, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, undefined,
      Buffer.from(JSON.stringify({ groupName: 'bad group!' })));
    expect(badName.code).toBe(ResponseCode.INVALID_PARAMETER);
    const notJson = await call(t.client, t.brokerA, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, undefined, Buffer.from('nope'));
    expect(notJson.code).toBe(ResponseCode.INVALID_PARAMETER);
    const missing = await call(t.client, t.brokerA, RequestCode.DELETE_SUBSCRIPTIONGROUP, {});
    expect(missing.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(missing.remark).toContain('groupName');
    expect(Object.keys((await allGroups()).subscriptionGroupTable)).not.toContain('bad group!');
  });

  it('deleting with cleanOffset removes the group offsets and its retry topic', async () => {
    const group = 'CID_DELETE_CLEAN';
    const c = newClient();
    await heartbeat(c, '127.0.0.1@del', [{ groupName: group, subscriptions: [{ topic: 'ClientsTopic' }] }]);
    c.close();
    const upd = await call(t.client, t.brokerA, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic: 'ClientsTopic', queueId: 0, commitOffset: 1 });
    expect(upd.code).toBe(ResponseCode.SUCCESS);
    const del = await call(t.client, t.brokerA, RequestCode.DELETE_SUBSCRIPTIONGROUP, { groupName: group, cleanOffset: true });
    expect(del.code).toBe(ResponseCode.SUCCESS);
    const q = await call(t.client, t.brokerA, RequestCode.QUERY_CONSUMER_OFFSET,
      { consumerGroup: group, topic: 'ClientsTopic', queueId: 0, setZeroIfNotFound: false });
    expect(q.code).toBe(ResponseCode.QUERY_NOT_FOUND);
    const topics = body<{ topicConfigTable: Record<string, unknown> }>(await call(t.client, t.brokerA, RequestCode.GET_ALL_TOPIC_CONFIG));
    expect(topics.topicConfigTable[`%RETRY%${group}`]).toBeUndefined();
  });
});
