/**
 * PULL_MESSAGE (11): found bodies decoded field by field, not-found / offset-moved / retry codes,
 * tag filtering, long polling (held pulls answered on arrival or at the suspend timeout) and the
 * commit-offset flag (reference §7.3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { deflateSync, inflateSync } from 'node:zlib';
import { decodeMessages, tagsHashCode } from '../../../src-main/broker/store/message-codec.js';
import { startCluster, type EmbeddedCluster } from '../../../src-main/broker/cluster/cluster.js';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { tempDir } from '../../harness/temp-dir.js';
import {
  PULL_FLAG, call, num, pull, queryConsumerOffset, send, sendV2Header, sleep, startTestCluster, type SendResult, type TestCluster,
} from '../../harness/broker-protocol.js';

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster('it-pull');
});

afterAll(async () => {
  await t?.stop();
});

const SUSPEND = PULL_FLAG.SUSPEND | PULL_FLAG.SUBSCRIPTION;

describe('PULL_MESSAGE found', () => {
  it('returns the stored messages with topic, queueId, queueOffset, properties, bornHost and storeHost', async () => {
    const topic = 'PullFound';
    const sent: SendResult[] = [];
    const bornTimestamp = Date.now() - 1000;
    for (let i = 0; i < 3; i++) {
      sent.push(await send(t.client, t.brokerA, {
        topic, queueId: 1, body: `m${i}`, tags: 'TagA', keys: `key-${i}`, flag: 100 + i, bornTimestamp,
        properties: { UNIQ_KEY: `U-${i}`, custom: `v${i}` },
      }));
    }
    const conn = await t.client.getConnection(t.brokerA);
    const p = await pull(t.client, t.brokerA, { topic, queueId: 1, queueOffset: 0 });
    expect(p.code).toBe(ResponseCode.SUCCESS);
    expect(p.remark).toBe('FOUND');
    expect(p.nextBeginOffset).toBe(3);
    expect(p.minOffset).toBe(0);
    expect(p.maxOffset).toBe(3);
    expect(p.response.extFields?.suggestWhichBrokerId).toBe('0');
    expect(p.messages).toHaveLength(3);
    p.messages.forEach((m, i) => {
      expect(m.topic).toBe(topic);
      expect(m.queueId).toBe(1);
      expect(m.queueOffset).toBe(i);
      expect(m.body.toString()).toBe(`m${i}`);
      expect(m.flag).toBe(100 + i);
      expect(m.bornTimestamp).toBe(bornTimestamp);
      expect(m.storeTimestamp).toBeGreaterThanOrEqual(bornTimestamp);
      expect(m.bornHost).toBe(conn.localAddress);
      expect(m.storeHost).toBe(t.brokerA);
      expect(m.reconsumeTimes).toBe(0);
      expect(m.msgId).toBe(sent[i]!.msgId);
      expect(m.properties).toMatchObject({ TAGS: 'TagA', KEYS: `key-${i}`, UNIQ_KEY: `U-${i}`, custom: `v${i}`, CLUSTER: 'DefaultCluster' });
    });
  });

  it('honours maxMsgNums and continues from nextBeginOffset', async () => {
    const topic = 'PullPaged';
    for (let i = 0; i < 5; i++) await send(t.client, t.brokerA, { topic, queueId: 0, body: `p${i}` });
    const first = await pull(t.client, t.brokerA, { topic, queueOffset: 0, maxMsgNums: 2 });
    expect(first.messages.map((m) => m.body.toString())).toEqual(['p0', 'p1']);
    expect(first.nextBeginOffset).toBe(2);
    const second = await pull(t.client, t.brokerA, { topic, queueOffset: first.nextBeginOffset, maxMsgNums: 2 });
    expect(second.messages.map((m) => m.body.toString())).toEqual(['p2', 'p3']);
    const third = await pull(t.client, t.brokerA, { topic, queueOffset: second.nextBeginOffset, maxMsgNums: 2 });
    expect(third.messages.map((m) => m.body.toString())).toEqual(['p4']);
    expect(third.nextBeginOffset).toBe(5);
  });

  it('stops at 256 KiB of messages per pull (always at least one)', async () => {
    const topic = 'PullTransferLimit';
    for (let i = 0; i < 3; i++) await send(t.client, t.brokerA, { topic, queueId: 0, body: Buffer.alloc(200 * 1024, 65 + i) });
    const first = await pull(t.client, t.brokerA, { topic, queueOffset: 0 });
    expect(first.messages).toHaveLength(1);
    expect(first.messages[0]!.body.length).toBe(200 * 1024);
    expect(first.nextBeginOffset).toBe(1);
    const rest = await pull(t.client, t.brokerA, { topic, queueOffset: 1 });
    expect(rest.messages.map((m) => m.body[0])).toEqual([66]);
    // Small messages: up to maxMsgNums in one pull.
    for (let i = 0; i < 40; i++) await send(t.client, t.brokerA, { topic: 'PullMany', queueId: 0 });
    const many = await pull(t.client, t.brokerA, { topic: 'PullMany', queueOffset: 0, maxMsgNums: 100 });
    expect(many.messages).toHaveLength(40);
  });

  it('returns a compressed body as stored, with sysFlag 0x1', async () => {
    const topic = 'PullCompressed';
    const compressed = deflateSync(Buffer.from('hello compressed'));
    const res = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2,
      { ...sendV2Header({ topic, queueId: 0 }), f: 1 }, compressed);
    expect(res.code).toBe(ResponseCode.SUCCESS);
    const p = await pull(t.client, t.brokerA, { topic, queueOffset: 0 });
    expect(p.messages[0]!.sysFlag & 1).toBe(1);
    expect(p.messages[0]!.body.equals(compressed)).toBe(true);
    expect(inflateSync(p.messages[0]!.body).toString()).toBe('hello compressed');
  });
});

describe('PULL_MESSAGE not found and moved', () => {
  it('answers PULL_NOT_FOUND (19) at the end of the queue without the suspend flag', async () => {
    const topic = 'PullEnd';
    await send(t.client, t.brokerA, { topic, queueId: 0 });
    await send(t.client, t.brokerA, { topic, queueId: 0 });
    const start = Date.now();
    const p = await pull(t.client, t.brokerA, { topic, queueOffset: 2 });
    expect(Date.now() - start).toBeLessThan(1000);
    expect(p.code).toBe(ResponseCode.PULL_NOT_FOUND);
    expect(p.remark).toBe('OFFSET_OVERFLOW_ONE');
    expect(p.nextBeginOffset).toBe(2);
    expect(p.minOffset).toBe(0);
    expect(p.maxOffset).toBe(2);
    expect(p.response.body).toBeUndefined();

    // An empty queue of a known topic at offset 0 is also 19.
    const empty = await pull(t.client, t.brokerA, { topic, queueId: 3, queueOffset: 0 });
    expect(empty.code).toBe(ResponseCode.PULL_NOT_FOUND);
    expect(empty.nextBeginOffset).toBe(0);
  });

  it('answers PULL_OFFSET_MOVED (21) for an offset far beyond the max, with nextBeginOffset = min', async () => {
    const topic = 'PullFarBeyond';
    for (let i = 0; i < 3; i++) await send(t.client, t.brokerA, { topic, queueId: 0 });
    const p = await pull(t.client, t.brokerA, { topic, queueOffset: 1000 });
    expect(p.code).toBe(ResponseCode.PULL_OFFSET_MOVED);
    expect(p.remark).toBe('OFFSET_OVERFLOW_BADLY');
    expect(p.nextBeginOffset).toBe(0);
    expect(p.maxOffset).toBe(3);
    // An empty queue asked for a non-zero offset is moved too.
    const empty = await pull(t.client, t.brokerA, { topic, queueId: 2, queueOffset: 5 });
    expect(empty.code).toBe(ResponseCode.PULL_OFFSET_MOVED);
    expect(empty.nextBeginOffset).toBe(0);
  });

  it('answers PULL_OFFSET_MOVED (21) for a negative offset, with nextBeginOffset = min', async () => {
    const topic = 'PullNegative';
    await send(t.client, t.brokerA, { topic, queueId: 0 });
    const p = await pull(t.client, t.brokerA, { topic, queueOffset: -5 });
    expect(p.code).toBe(ResponseCode.PULL_OFFSET_MOVED);
    expect(p.remark).toBe('OFFSET_TOO_SMALL');
    expect(p.nextBeginOffset).toBe(0);
  });

  it('a write-only topic may not be pulled (NO_PERMISSION 16)', async () => {
    const topic = 'PullWriteOnly';
    const created = await call(t.client, t.brokerA, RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic, defaultTopic: 'TBW102', readQueueNums: 2, writeQueueNums: 2, perm: 2, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
    });
    expect(created.code).toBe(ResponseCode.SUCCESS);
    await send(t.client, t.brokerA, { topic, queueId: 0 });
    const p = await pull(t.client, t.brokerA, { topic, queueOffset: 0 });
    expect(p.code).toBe(ResponseCode.NO_PERMISSION);
    expect(p.remark).toBe(`the topic[${topic}] pulling message is forbidden`);
  });

  it('unknown topic is TOPIC_NOT_EXIST, queueId beyond readQueueNums is refused, no subscription is 24', async () => {
    const unknown = await pull(t.client, t.brokerA, { topic: 'PullNoSuchTopic', queueOffset: 0 });
    expect(unknown.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    const topic = 'PullQueueRange';
    await send(t.client, t.brokerA, { topic, queueId: 0, defaultTopicQueueNums: 2 });
    const range = await pull(t.client, t.brokerA, { topic, queueId: 2, queueOffset: 0 });
    expect(range.code).toBe(ResponseCode.INVALID_PARAMETER);
    // Without the SUBSCRIPTION bit and without a heartbeat, the broker knows no subscription.
    const noSub = await call(t.client, t.brokerA, RequestCode.PULL_MESSAGE, {
      consumerGroup: 'CID_NO_HEARTBEAT', topic, queueId: 0, queueOffset: 0, maxMsgNums: 32, sysFlag: 0,
      commitOffset: 0, suspendTimeoutMillis: 1000, subVersion: 0,
    });
    expect(noSub.code).toBe(ResponseCode.SUBSCRIPTION_NOT_EXIST);
  });
});

describe('tag filtering', () => {
  it('returns only messages whose tag is in the subscription expression', async () => {
    const topic = 'PullTags';
    const tags = ['TagA', 'TagC', 'TagB', 'TagC', 'TagA', ''];
    for (const [i, tag] of tags.entries()) {
      await send(t.client, t.brokerA, { topic, queueId: 0, body: `t${i}`, ...(tag ? { tags: tag } : {}) });
    }
    const p = await pull(t.client, t.brokerA, { topic, queueOffset: 0, subscription: 'TagA || TagB' });
    expect(p.code).toBe(ResponseCode.SUCCESS);
    expect(p.messages.map((m) => [m.queueOffset, m.properties.TAGS])).toEqual([[0, 'TagA'], [2, 'TagB'], [4, 'TagA']]);
    expect(p.nextBeginOffset).toBe(6);

    const all = await pull(t.client, t.brokerA, { topic, queueOffset: 0, subscription: '*' });
    expect(all.messages).toHaveLength(6);
    const spaced = await pull(t.client, t.brokerA, { topic, queueOffset: 1, subscription: '  TagC  ' });
    expect(spaced.messages.map((m) => m.queueOffset)).toEqual([1, 3]);
  });

  it('answers PULL_RETRY_IMMEDIATELY (20) with nextBeginOffset past the batch when nothing matches', async () => {
    const topic = 'PullNoMatch';
    for (let i = 0; i < 4; i++) await send(t.client, t.brokerA, { topic, queueId: 0, tags: 'TagC' });
    const p = await pull(t.client, t.brokerA, { topic, queueOffset: 0, subscription: 'TagA || TagB' });
    expect(p.code).toBe(ResponseCode.PULL_RETRY_IMMEDIATELY);
    expect(p.remark).toBe('NO_MATCHED_MESSAGE');
    expect(p.nextBeginOffset).toBe(4);
    expect(p.maxOffset).toBe(4);
    // Continuing from there is the end of the queue.
    const next = await pull(t.client, t.brokerA, { topic, queueOffset: p.nextBeginOffset, subscription: 'TagA || TagB' });
    expect(next.code).toBe(ResponseCode.PULL_NOT_FOUND);
  });

  it('uses the heartbeat subscription when the SUBSCRIPTION bit is clear', async () => {
    const topic = 'PullHeartbeatSub';
    await send(t.client, t.brokerA, { topic, queueId: 0, tags: 'X' });
    await send(t.client, t.brokerA, { topic, queueId: 0, tags: 'Y' });
    const hb = await call(t.client, t.brokerA, RequestCode.HEART_BEAT, undefined, Buffer.from(JSON.stringify({
      clientID: '127.0.0.1@pull-hb',
      producerDataSet: [],
      consumerDataSet: [{
        groupName: 'CID_PULL_HB', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING',
        consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', unitMode: false,
        subscriptionDataSet: [{ topic, subString: 'Y', tagsSet: ['Y'], codeSet: [tagsHashCode('Y')], subVersion: 1, expressionType: 'TAG' }],
      }],
    })));
    expect(hb.code).toBe(ResponseCode.SUCCESS);
    const res = await call(t.client, t.brokerA, RequestCode.PULL_MESSAGE, {
      consumerGroup: 'CID_PULL_HB', topic, queueId: 0, queueOffset: 0, maxMsgNums: 32, sysFlag: 0,
      commitOffset: 0, suspendTimeoutMillis: 1000, subVersion: 1,
    });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    expect(decodeMessages(res.body!).map((m) => m.properties.TAGS)).toEqual(['Y']);
  });
});

describe('long polling', () => {
  it('holds a suspended pull and answers it as soon as a message arrives in that queue', async () => {
    const topic = 'PullLongPoll';
    await send(t.client, t.brokerA, { topic, queueId: 0, body: 'old' });
    const start = Date.now();
    const held = pull(t.client, t.brokerA, { topic, queueOffset: 1, sysFlag: SUSPEND, suspendTimeoutMillis: 3000 }, 10_000);
    let settled = false;
    void held.then(() => { settled = true; }, () => { settled = true; });
    await sleep(300);
    expect(settled).toBe(false);
    // A message to another queue of the same topic does not wake it.
    await send(t.client, t.brokerA, { topic, queueId: 1, body: 'other-queue' });
    await sleep(200);
    expect(settled).toBe(false);
    const sentAt = Date.now();
    await send(t.client, t.brokerA, { topic, queueId: 0, body: 'new' });
    const p = await held;
    const answeredAt = Date.now();
    expect(p.code).toBe(ResponseCode.SUCCESS);
    expect(p.messages.map((m) => m.body.toString())).toEqual(['new']);
    expect(p.messages[0]!.queueOffset).toBe(1);
    expect(p.nextBeginOffset).toBe(2);
    expect(answeredAt - sentAt).toBeLessThan(1000);
    expect(answeredAt - start).toBeLessThan(2500);
  });

  it('answers PULL_NOT_FOUND after the suspend timeout when nothing arrives', async () => {
    const topic = 'PullLongPollTimeout';
    await send(t.client, t.brokerA, { topic, queueId: 0 });
    const start = Date.now();
    const p = await pull(t.client, t.brokerA, { topic, queueOffset: 1, sysFlag: SUSPEND, suspendTimeoutMillis: 3000 }, 10_000);
    const elapsed = Date.now() - start;
    expect(p.code).toBe(ResponseCode.PULL_NOT_FOUND);
    expect(p.nextBeginOffset).toBe(1);
    expect(p.maxOffset).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(3000);
    expect(elapsed).toBeLessThan(5000);
  });

  it('a held pull with a tag filter ignores non-matching arrivals and wakes on a matching one', async () => {
    const topic = 'PullLongPollTags';
    await send(t.client, t.brokerA, { topic, queueId: 0, tags: 'TagA' });
    const held = pull(t.client, t.brokerA,
      { topic, queueOffset: 1, sysFlag: SUSPEND, suspendTimeoutMillis: 3000, subscription: 'TagA' }, 10_000);
    let settled = false;
    void held.then(() => { settled = true; }, () => { settled = true; });
    await sleep(200);
    await send(t.client, t.brokerA, { topic, queueId: 0, tags: 'TagB', body: 'skip' });
    await sleep(300);
    expect(settled).toBe(false);
    const sentAt = Date.now();
    await send(t.client, t.brokerA, { topic, queueId: 0, tags: 'TagA', body: 'wanted' });
    const p = await held;
    expect(Date.now() - sentAt).toBeLessThan(1000);
    expect(p.code).toBe(ResponseCode.SUCCESS);
    expect(p.messages.map((m) => m.body.toString())).toEqual(['wanted']);
    expect(p.nextBeginOffset).toBe(3);
  });

  it('wakes every pull held on the queue, across groups and connections, with one arrival', async () => {
    const topic = 'PullLongPollMany';
    await send(t.client, t.brokerA, { topic, queueId: 0 });
    const clients = Array.from({ length: 20 }, () => new RemotingClient());
    try {
      const held = clients.map((c, i) => pull(c, t.brokerA,
        { topic, queueOffset: 1, group: `CID_MANY_${i % 3}`, sysFlag: SUSPEND, suspendTimeoutMillis: 3000 }, 10_000));
      await sleep(300);
      const sentAt = Date.now();
      await send(t.client, t.brokerA, { topic, queueId: 0, body: 'for everyone' });
      const results = await Promise.all(held);
      expect(Date.now() - sentAt).toBeLessThan(1000);
      for (const r of results) {
        expect(r.code).toBe(ResponseCode.SUCCESS);
        expect(r.messages.map((m) => m.body.toString())).toEqual(['for everyone']);
      }
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('a suspended pull that finds messages is answered at once', async () => {
    const topic = 'PullLongPollImmediate';
    await send(t.client, t.brokerA, { topic, queueId: 0, body: 'ready' });
    const start = Date.now();
    const p = await pull(t.client, t.brokerA, { topic, queueOffset: 0, sysFlag: SUSPEND, suspendTimeoutMillis: 3000 });
    expect(Date.now() - start).toBeLessThan(1000);
    expect(p.messages.map((m) => m.body.toString())).toEqual(['ready']);
  });
});

describe('long polling at broker stop', () => {
  it('answers held pulls (19) when the broker stops instead of dropping them with the connection', async () => {
    const dir = tempDir('it-pull-stop');
    const client = new RemotingClient();
    let cluster: EmbeddedCluster | undefined;
    let stopping: Promise<void> | undefined;
    try {
      cluster = await startCluster({ dataDir: dir.path, namesrvPort: 0, brokerGroups: ['broker-a'], slavesPerGroup: 0 });
      const addr = cluster.broker('broker-a')!.address;
      await send(client, addr, { topic: 'PullStop', queueId: 0 });
      const held = pull(client, addr, { topic: 'PullStop', queueOffset: 1, sysFlag: SUSPEND, suspendTimeoutMillis: 10_000 }, 15_000);
      await sleep(200);
      const start = Date.now();
      stopping = cluster.stop();
      const p = await held;
      expect(Date.now() - start).toBeLessThan(3000);
      expect(p.code).toBe(ResponseCode.PULL_NOT_FOUND);
      expect(p.nextBeginOffset).toBe(1);
      // A second stop of the node while the first runs waits for it to finish.
      const node = cluster.broker('broker-a')!;
      await node.stop();
      expect(node.state).toBe('stopped');
    } finally {
      client.close();
      await stopping?.catch(() => undefined);
      await cluster?.stop();
      dir.remove();
    }
  });
});

describe('commit offset on pull', () => {
  it('stores commitOffset as the consumer offset when sysFlag has COMMIT_OFFSET (0x1)', async () => {
    const topic = 'PullCommit';
    const group = 'CID_PULL_COMMIT';
    for (let i = 0; i < 6; i++) await send(t.client, t.brokerA, { topic, queueId: 2 });
    const p = await pull(t.client, t.brokerA, {
      topic, queueId: 2, queueOffset: 3, group, commitOffset: 3, sysFlag: PULL_FLAG.COMMIT_OFFSET | PULL_FLAG.SUBSCRIPTION,
    });
    expect(p.code).toBe(ResponseCode.SUCCESS);
    const q = await queryConsumerOffset(t.client, t.brokerA, group, topic, 2);
    expect(q.code).toBe(ResponseCode.SUCCESS);
    expect(num(q, 'offset')).toBe(3);

    // Without the flag, commitOffset is ignored.
    await pull(t.client, t.brokerA, { topic, queueId: 2, queueOffset: 6, group, commitOffset: 5, sysFlag: PULL_FLAG.SUBSCRIPTION });
    expect(num(await queryConsumerOffset(t.client, t.brokerA, group, topic, 2), 'offset')).toBe(3);

    // A suspended pull commits on its first run, before it is held.
    const held = pull(t.client, t.brokerA, {
      topic, queueId: 2, queueOffset: 6, group, commitOffset: 6,
      sysFlag: PULL_FLAG.COMMIT_OFFSET | SUSPEND, suspendTimeoutMillis: 3000,
    }, 10_000);
    await sleep(200);
    expect(num(await queryConsumerOffset(t.client, t.brokerA, group, topic, 2), 'offset')).toBe(6);
    await send(t.client, t.brokerA, { topic, queueId: 2, body: 'wake' });
    expect((await held).messages.map((m) => m.body.toString())).toEqual(['wake']);
  });
});
