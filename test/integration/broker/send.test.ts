/**
 * SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320) against the embedded
 * cluster over TCP: header forms, offset msgIds, auto-create through TBW102, and every refusal
 * the broker makes before storing (reference §7.2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import {
  decodeMessage, decodeMessageId, encodeBatchBody, encodeProperties,
} from '../../../src-main/broker/store/message-codec.js';
import { startCluster, type EmbeddedCluster } from '../../../src-main/broker/cluster/cluster.js';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { tempDir, waitFor } from '../../harness/temp-dir.js';
import {
  body, call, ext, num, pull, send, sendV2Header, startTestCluster, type TestCluster,
} from '../../harness/broker-protocol.js';

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster('it-send');
});

afterAll(async () => {
  await t?.stop();
});

interface RouteData {
  queueDatas: Array<{ brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number }>;
  brokerDatas: Array<{ brokerName: string; brokerAddrs: Record<string, string> }>;
}

describe('SEND_MESSAGE (10) with full header names', () => {
  it('stores the message and answers msgId, queueId, queueOffset, MSG_REGION and TRACE_ON', async () => {
    const topic = 'SendFullHeader';
    const header = {
      producerGroup: 'PID_FULL',
      topic,
      defaultTopic: 'TBW102',
      defaultTopicQueueNums: 4,
      queueId: 2,
      sysFlag: 0,
      bornTimestamp: 1_700_000_000_000,
      flag: 7,
      properties: encodeProperties({ TAGS: 'TagA', KEYS: 'k1 k2', WAIT: 'true' }),
      reconsumeTimes: 0,
      unitMode: false,
    };
    const first = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE, header, Buffer.from('full-1'));
    expect(first.code).toBe(ResponseCode.SUCCESS);
    expect(first.flag & 1).toBe(1);
    expect(ext(first, 'queueId')).toBe('2');
    expect(ext(first, 'queueOffset')).toBe('0');
    expect(ext(first, 'msgId')).toMatch(/^[0-9A-F]{32}$/);
    expect(ext(first, 'MSG_REGION')).toBe('DefaultRegion');
    expect(ext(first, 'TRACE_ON')).toBe('true');

    const second = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE, header, Buffer.from('full-2'));
    expect(second.code).toBe(ResponseCode.SUCCESS);
    expect(ext(second, 'queueOffset')).toBe('1');

    const p = await pull(t.client, t.brokerA, { topic, queueId: 2, queueOffset: 0 });
    expect(p.code).toBe(ResponseCode.SUCCESS);
    expect(p.messages.map((m) => m.body.toString())).toEqual(['full-1', 'full-2']);
    const m = p.messages[0]!;
    expect(m.flag).toBe(7);
    expect(m.bornTimestamp).toBe(1_700_000_000_000);
    expect(m.properties.TAGS).toBe('TagA');
    expect(m.properties.KEYS).toBe('k1 k2');
    expect(m.properties.CLUSTER).toBe('DefaultCluster');
    expect(m.msgId).toBe(ext(first, 'msgId'));
  });
});

describe('SEND_MESSAGE_V2 (310) with one-letter names', () => {
  it('stores consecutive offsets per queue', async () => {
    const topic = 'SendV2';
    const offsets: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await send(t.client, t.brokerA, { topic, queueId: 1, body: `v2-${i}`, tags: 'TagB' });
      expect(r.queueId).toBe(1);
      offsets.push(r.queueOffset);
    }
    expect(offsets).toEqual([0, 1, 2]);
    const other = await send(t.client, t.brokerA, { topic, queueId: 0, body: 'q0' });
    expect(other.queueOffset).toBe(0);
    const max = await call(t.client, t.brokerA, RequestCode.GET_MAX_OFFSET, { topic, queueId: 1 });
    expect(num(max, 'offset')).toBe(3);
  });

  it('offset msgId decodes to the broker address and a commitlog offset VIEW_MESSAGE_BY_ID returns', async () => {
    const topic = 'SendMsgId';
    const r = await send(t.client, t.brokerB, { topic, queueId: 0, body: 'view-me', tags: 'TagV', keys: 'view-key' });
    const id = decodeMessageId(r.msgId);
    expect(id.address).toBe(t.brokerB);
    expect(id.offset).toBeGreaterThanOrEqual(0);

    const view = await call(t.client, id.address, RequestCode.VIEW_MESSAGE_BY_ID, { offset: id.offset });
    expect(view.code).toBe(ResponseCode.SUCCESS);
    const m = decodeMessage(view.body!);
    expect(m.topic).toBe(topic);
    expect(m.body.toString()).toBe('view-me');
    expect(m.commitLogOffset).toBe(id.offset);
    expect(m.storeHost).toBe(t.brokerB);
    expect(m.msgId).toBe(r.msgId);
    expect(m.properties.KEYS).toBe('view-key');
    expect(view.body!.length).toBe(m.storeSize);
  });

  it('a negative queueId lets the broker pick a write queue', async () => {
    const r = await send(t.client, t.brokerA, { topic: 'SendAnyQueue', queueId: -1, defaultTopicQueueNums: 4 });
    expect(r.queueId).toBeGreaterThanOrEqual(0);
    expect(r.queueId).toBeLessThan(4);
  });
});

describe('concurrent sends', () => {
  it('sends from four connections at once get distinct, gap-free queue offsets and all arrive', async () => {
    const topic = 'SendConcurrent';
    const clients = [0, 1, 2, 3].map(() => new RemotingClient());
    try {
      const results = await Promise.all(clients.flatMap((c, ci) =>
        Array.from({ length: 100 }, (_, i) => send(c, t.brokerA, { topic, queueId: 0, body: `${ci}-${i}` }))));
      expect(results.map((r) => r.queueOffset).sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, i) => i));
      expect(new Set(results.map((r) => r.msgId)).size).toBe(400);
      const bodies: string[] = [];
      let offset = 0;
      for (;;) {
        const p = await pull(t.client, t.brokerA, { topic, queueOffset: offset });
        if (p.code !== ResponseCode.SUCCESS) break;
        p.messages.forEach((m, i) => expect(m.queueOffset).toBe(offset + i));
        bodies.push(...p.messages.map((m) => m.body.toString()));
        offset = p.nextBeginOffset;
      }
      expect(bodies).toHaveLength(400);
      expect(new Set(bodies).size).toBe(400);
      // Each connection's own messages keep their send order.
      for (let ci = 0; ci < 4; ci++) {
        const mine = bodies.filter((b) => b.startsWith(`${ci}-`)).map((b) => Number(b.split('-')[1]));
        expect(mine).toEqual(Array.from({ length: 100 }, (_, i) => i));
      }
    } finally {
      for (const c of clients) c.close();
    }
  });
});

describe('SEND_BATCH_MESSAGE (320)', () => {
  it('stores each entry with consecutive queue offsets and answers comma-joined msgIds', async () => {
    const topic = 'SendBatch';
    await send(t.client, t.brokerA, { topic, queueId: 0, body: 'before' });
    const items = [0, 1, 2, 3].map((i) => ({
      flag: i,
      body: Buffer.from(`batch-${i}`),
      properties: { TAGS: i % 2 === 0 ? 'Even' : 'Odd', UNIQ_KEY: `UNIQ${i}`, KEYS: `bk${i}` },
    }));
    const header = { ...sendV2Header({ topic, queueId: 0 }), m: true };
    const res = await call(t.client, t.brokerA, RequestCode.SEND_BATCH_MESSAGE, header, encodeBatchBody(items));
    expect(res.code).toBe(ResponseCode.SUCCESS);
    expect(ext(res, 'queueOffset')).toBe('1');
    expect(ext(res, 'queueId')).toBe('0');
    const ids = ext(res, 'msgId').split(',');
    expect(ids).toHaveLength(4);
    for (const id of ids) expect(id).toMatch(/^[0-9A-F]{32}$/);
    const offsets = ids.map((id) => decodeMessageId(id).offset);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]!).toBeGreaterThan(offsets[i - 1]!);
    expect(new Set(ids.map((id) => decodeMessageId(id).address))).toEqual(new Set([t.brokerA]));

    const p = await pull(t.client, t.brokerA, { topic, queueId: 0, queueOffset: 1 });
    expect(p.code).toBe(ResponseCode.SUCCESS);
    expect(p.messages.map((m) => m.queueOffset)).toEqual([1, 2, 3, 4]);
    expect(p.messages.map((m) => m.body.toString())).toEqual(['batch-0', 'batch-1', 'batch-2', 'batch-3']);
    expect(p.messages.map((m) => m.flag)).toEqual([0, 1, 2, 3]);
    expect(p.messages.map((m) => m.properties.UNIQ_KEY)).toEqual(['UNIQ0', 'UNIQ1', 'UNIQ2', 'UNIQ3']);
    expect(p.messages.map((m) => m.properties.TAGS)).toEqual(['Even', 'Odd', 'Even', 'Odd']);
    expect(p.messages.map((m) => m.msgId)).toEqual(ids);
    expect(p.nextBeginOffset).toBe(5);
  });

  it('a malformed batch body is MESSAGE_ILLEGAL and stores nothing', async () => {
    const topic = 'SendBatchBad';
    await send(t.client, t.brokerA, { topic, queueId: 0 });
    const good = encodeBatchBody([{ flag: 0, body: Buffer.from('x'), properties: {} }]);
    const bad = Buffer.concat([good, good.subarray(0, 10)]);
    const res = await call(t.client, t.brokerA, RequestCode.SEND_BATCH_MESSAGE, { ...sendV2Header({ topic }), m: true }, bad);
    expect(res.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    const max = await call(t.client, t.brokerA, RequestCode.GET_MAX_OFFSET, { topic, queueId: 0 });
    expect(num(max, 'offset')).toBe(1);
  });

  it('a batch to a retry topic is MESSAGE_ILLEGAL', async () => {
    const body = encodeBatchBody([{ flag: 0, body: Buffer.from('x'), properties: {} }]);
    const res = await call(t.client, t.brokerA, RequestCode.SEND_BATCH_MESSAGE,
      { ...sendV2Header({ topic: '%RETRY%SomeGroup' }), m: true }, body);
    expect(res.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    expect(res.remark).toContain('batch request does not support retry group');
  });
});

describe('auto-create through TBW102', () => {
  it('creates the topic on first send with min(defaultTopicQueueNums, 8) queues and registers it', async () => {
    const topic = 'AutoCreatedTopic';
    const before = await call(t.client, t.namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
    expect(before.code).toBe(ResponseCode.TOPIC_NOT_EXIST);

    await send(t.client, t.brokerA, { topic, queueId: 0, defaultTopicQueueNums: 3 });
    const all = body<{ topicConfigTable: Record<string, { readQueueNums: number; writeQueueNums: number; perm: number }> }>(
      await call(t.client, t.brokerA, RequestCode.GET_ALL_TOPIC_CONFIG));
    expect(all.topicConfigTable[topic]).toMatchObject({ readQueueNums: 3, writeQueueNums: 3, perm: 6 });

    let route: RouteData | undefined;
    await waitFor(async () => {
      const r = await call(t.client, t.namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
      if (r.code !== ResponseCode.SUCCESS) return false;
      route = body<RouteData>(r);
      return true;
    }, 5000, 'the auto-created topic in the NameServer route');
    expect(route!.queueDatas).toEqual([expect.objectContaining({ brokerName: 'broker-a', readQueueNums: 3, writeQueueNums: 3, perm: 6 })]);
    expect(route!.brokerDatas.map((b) => b.brokerName)).toEqual(['broker-a']);
    expect(route!.brokerDatas[0]!.brokerAddrs['0']).toBe(t.brokerA);

    // Asking for more than TBW102's 8 queues is capped at 8.
    await send(t.client, t.brokerA, { topic: 'AutoCreatedWide', queueId: 0, defaultTopicQueueNums: 64 });
    const wide = body<{ topicConfigTable: Record<string, { writeQueueNums: number }> }>(
      await call(t.client, t.brokerA, RequestCode.GET_ALL_TOPIC_CONFIG));
    expect(wide.topicConfigTable.AutoCreatedWide!.writeQueueNums).toBe(8);
  });

  it('with autoCreateTopicEnable=false an unknown topic is TOPIC_NOT_EXIST (17)', async () => {
    const dir = tempDir('it-send-noauto');
    let cluster: EmbeddedCluster | undefined;
    const client = new RemotingClient();
    try {
      cluster = await startCluster({
        dataDir: dir.path, namesrvPort: 0, brokerGroups: ['broker-a'], slavesPerGroup: 0,
        brokerOverrides: { autoCreateTopicEnable: false },
      });
      const addr = cluster.broker('broker-a')!.address;
      const res = await call(client, addr, RequestCode.SEND_MESSAGE_V2, sendV2Header({ topic: 'NoSuchTopic' }), Buffer.from('x'));
      expect(res.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
      expect(res.remark).toBe('topic[NoSuchTopic] not exist, apply first please!');
      const all = body<{ topicConfigTable: Record<string, unknown> }>(await call(client, addr, RequestCode.GET_ALL_TOPIC_CONFIG));
      expect(all.topicConfigTable.NoSuchTopic).toBeUndefined();
    } finally {
      client.close();
      await cluster?.stop();
      dir.remove();
    }
  });
});

describe('refusals', () => {
  it('a topic name with illegal characters is refused', async () => {
    const res = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2, sendV2Header({ topic: 'bad topic/name' }), Buffer.from('x'));
    expect(res.code).toBe(ResponseCode.INVALID_PARAMETER);
    expect(res.remark).toContain('illegal characters');
    const tooLong = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2, sendV2Header({ topic: 'T'.repeat(128) }), Buffer.from('x'));
    expect(tooLong.code).toBe(ResponseCode.INVALID_PARAMETER);
    const all = body<{ topicConfigTable: Record<string, unknown> }>(await call(t.client, t.brokerA, RequestCode.GET_ALL_TOPIC_CONFIG));
    expect(Object.keys(all.topicConfigTable)).not.toContain('bad topic/name');
  });

  it('a queueId at or beyond the queue count is refused', async () => {
    const topic = 'SendQueueRange';
    await send(t.client, t.brokerA, { topic, queueId: 0, defaultTopicQueueNums: 2 });
    const res = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2, sendV2Header({ topic, queueId: 2 }), Buffer.from('x'));
    expect(res.code).toBe(ResponseCode.INVALID_PARAMETER);
    expect(res.remark).toContain('queueId[2] is illegal');
    const ok = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2, sendV2Header({ topic, queueId: 1 }), Buffer.from('x'));
    expect(ok.code).toBe(ResponseCode.SUCCESS);
  });

  it('sending to SCHEDULE_TOPIC_XXXX (and other internal topics) is NO_PERMISSION (16)', async () => {
    for (const topic of ['SCHEDULE_TOPIC_XXXX', 'RMQ_SYS_TRANS_HALF_TOPIC', 'SELF_TEST_TOPIC', 'OFFSET_MOVED_EVENT']) {
      const res = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2, sendV2Header({ topic }), Buffer.from('x'));
      expect(res.code, topic).toBe(ResponseCode.NO_PERMISSION);
      expect(res.remark).toBe(`Sending message to topic[${topic}] is forbidden.`);
    }
    const max = await call(t.client, t.brokerA, RequestCode.GET_MAX_OFFSET, { topic: 'SCHEDULE_TOPIC_XXXX', queueId: 0 });
    expect(num(max, 'offset')).toBe(0);
  });

  it('a body over maxMessageSize (4 MiB) is MESSAGE_ILLEGAL (13); exactly 4 MiB is accepted', async () => {
    const topic = 'SendTooBig';
    const res = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2, sendV2Header({ topic }),
      Buffer.alloc(4 * 1024 * 1024 + 1, 0x61), 10_000);
    expect(res.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    expect(res.remark).toContain('exceeds maxMessageSize');
    expect(num(await call(t.client, t.brokerA, RequestCode.GET_MAX_OFFSET, { topic, queueId: 0 }), 'offset')).toBe(0);
    const max = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2, sendV2Header({ topic }),
      Buffer.alloc(4 * 1024 * 1024, 0x62), 10_000);
    expect(max.code).toBe(ResponseCode.SUCCESS);
  });

  it('a missing required header field is SYSTEM_ERROR (1) naming the field', async () => {
    const v2 = sendV2Header({ topic: 'SendMissing' });
    delete v2.a;
    const noGroup = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2, v2, Buffer.from('x'));
    expect(noGroup.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(noGroup.remark).toContain('producerGroup');

    const noTopic = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE,
      { producerGroup: 'PID', defaultTopic: 'TBW102', defaultTopicQueueNums: 4, queueId: 0, sysFlag: 0, bornTimestamp: Date.now(), flag: 0 },
      Buffer.from('x'));
    expect(noTopic.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(noTopic.remark).toContain('<topic>');

    const v2NoQueue = sendV2Header({ topic: 'SendMissing' });
    delete v2NoQueue.e;
    const noQueue = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2, v2NoQueue, Buffer.from('x'));
    expect(noQueue.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(noQueue.remark).toContain('queueId');

    const badQueue = await call(t.client, t.brokerA, RequestCode.SEND_MESSAGE_V2, { ...sendV2Header({ topic: 'SendMissing' }), e: 'zero' },
      Buffer.from('x'));
    expect(badQueue.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(badQueue.remark).toContain('queueId');
  });

  it('a slave refuses sends', async () => {
    const slave = t.cluster.broker('broker-a', 1)!.address;
    const res = await call(t.client, slave, RequestCode.SEND_MESSAGE_V2, sendV2Header({ topic: 'SendToSlave' }), Buffer.from('x'));
    expect(res.code).toBe(ResponseCode.SERVICE_NOT_AVAILABLE);
  });
});
