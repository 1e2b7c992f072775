/**
 * QUERY_MESSAGE (12) by KEYS value and by UNIQ_KEY, and VIEW_MESSAGE_BY_ID (33) (reference §7.7).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { decodeMessage, decodeMessageId, decodeMessages } from '../../../src-main/broker/store/message-codec.js';
import { call, ext, send, sleep, startTestCluster, type TestCluster } from '../../harness/broker-protocol.js';

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster('it-query');
});

afterAll(async () => {
  await t?.stop();
});

const query = (topic: string, key: string, beginTimestamp: number, endTimestamp: number, uniq = false, maxNum = 32, addr = t.brokerA) =>
  call(t.client, addr, RequestCode.QUERY_MESSAGE, {
    topic, key, maxNum, beginTimestamp, endTimestamp, ...(uniq ? { _UNIQUE_KEY_QUERY: 'true' } : {}),
  });

describe('QUERY_MESSAGE (12)', () => {
  it('finds a message by each of its KEYS values and by its UNIQ_KEY within the time range', async () => {
    const topic = 'QueryTopic';
    const begin = Date.now() - 1;
    const target = await send(t.client, t.brokerA, {
      topic, queueId: 1, body: 'find-me', tags: 'TagQ', keys: 'order-42 customer-7', properties: { UNIQ_KEY: '7F0000010001000000000000000000AA' },
    });
    await send(t.client, t.brokerA, { topic, queueId: 1, body: 'other', keys: 'order-43', properties: { UNIQ_KEY: '7F0000010001000000000000000000AB' } });
    const end = Date.now() + 1;

    for (const key of ['order-42', 'customer-7']) {
      const res = await query(topic, key, begin, end);
      expect(res.code, key).toBe(ResponseCode.SUCCESS);
      expect(Number(ext(res, 'indexLastUpdatePhyoffset'))).toBeGreaterThan(0);
      expect(Number(ext(res, 'indexLastUpdateTimestamp'))).toBeGreaterThan(0);
      const msgs = decodeMessages(res.body!);
      expect(msgs).toHaveLength(1);
      expect(msgs[0]!.body.toString()).toBe('find-me');
      expect(msgs[0]!.msgId).toBe(target.msgId);
      expect(msgs[0]!.properties.KEYS).toBe('order-42 customer-7');
    }

    const byUniq = await query(topic, '7F0000010001000000000000000000AA', begin, end, true, 1);
    expect(byUniq.code).toBe(ResponseCode.SUCCESS);
    const uniqMsgs = decodeMessages(byUniq.body!);
    expect(uniqMsgs.map((m) => m.body.toString())).toEqual(['find-me']);
    expect(uniqMsgs[0]!.queueId).toBe(1);

    // A key is a whole KEYS word: a prefix does not match.
    expect((await query(topic, 'order-4', begin, end)).code).toBe(ResponseCode.QUERY_NOT_FOUND);
    // Keys are per topic.
    await send(t.client, t.brokerA, { topic: 'QueryOtherTopic', queueId: 0, keys: 'order-42' });
    const scoped = await query(topic, 'order-42', begin, Date.now() + 1);
    expect(decodeMessages(scoped.body!).map((m) => m.topic)).toEqual([topic]);
  });

  it('returns every message sharing a key, newest first, capped at maxNum', async () => {
    const topic = 'QueryMany';
    const begin = Date.now() - 1;
    for (let i = 0; i < 4; i++) {
      await send(t.client, t.brokerA, { topic, queueId: 0, body: `dup-${i}`, keys: 'shared' });
      await sleep(2);
    }
    const end = Date.now() + 1;
    const all = await query(topic, 'shared', begin, end);
    const bodies = decodeMessages(all.body!).map((m) => m.body.toString());
    expect([...bodies].sort()).toEqual(['dup-0', 'dup-1', 'dup-2', 'dup-3']);
    expect(bodies[0]).toBe('dup-3');
    const two = await query(topic, 'shared', begin, end, false, 2);
    expect(decodeMessages(two.body!)).toHaveLength(2);
  });

  it('outside the time range, or for an unknown key, is QUERY_NOT_FOUND (22)', async () => {
    const topic = 'QueryRange';
    const before = Date.now() - 1;
    await sleep(20);
    const sentAfter = Date.now();
    await send(t.client, t.brokerA, { topic, queueId: 0, keys: 'range-key', properties: { UNIQ_KEY: 'RANGEUNIQ' } });
    const tooEarly = await query(topic, 'range-key', before - 60_000, sentAfter - 10);
    expect(tooEarly.code).toBe(ResponseCode.QUERY_NOT_FOUND);
    expect(tooEarly.remark).toBe('can not find message, maybe time range not correct');
    expect(tooEarly.body).toBeUndefined();
    const tooLate = await query(topic, 'range-key', Date.now() + 60_000, Date.now() + 120_000);
    expect(tooLate.code).toBe(ResponseCode.QUERY_NOT_FOUND);
    expect((await query(topic, 'RANGEUNIQ', Date.now() + 60_000, Date.now() + 120_000, true)).code).toBe(ResponseCode.QUERY_NOT_FOUND);
    expect((await query(topic, 'no-such-key', before, Date.now() + 1)).code).toBe(ResponseCode.QUERY_NOT_FOUND);
    expect((await query(topic, 'range-key', before, Date.now() + 1)).code).toBe(ResponseCode.SUCCESS);
    // Only the broker that stored it knows the key.
    expect((await query(topic, 'range-key', before, Date.now() + 1, false, 32, t.brokerB)).code).toBe(ResponseCode.QUERY_NOT_FOUND);
  });

  it('finds messages by non-ASCII keys', async () => {
    const topic = 'QueryUnicode';
    const begin = Date.now() - 1;
    await send(t.client, t.brokerA, { topic, queueId: 0, body: 'ü-body', tags: '标签', keys: '订单 κλειδί' });
    for (const key of ['订单', 'κλειδί']) {
      const res = await query(topic, key, begin, Date.now() + 1);
      expect(res.code, key).toBe(ResponseCode.SUCCESS);
      const [m] = decodeMessages(res.body!);
      expect(m!.properties).toMatchObject({ KEYS: '订单 κλειδί', TAGS: '标签' });
      expect(m!.body.toString()).toBe('ü-body');
    }
    expect((await query(topic, '订', begin, Date.now() + 1)).code).toBe(ResponseCode.QUERY_NOT_FOUND);
  });

  it('a missing header field is SYSTEM_ERROR naming it', async () => {
    const res = await call(t.client, t.brokerA, RequestCode.QUERY_MESSAGE, { topic: 'QueryTopic', maxNum: 1, beginTimestamp: 0, endTimestamp: 1 });
    expect(res.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(res.remark).toContain('key');
  });
});

describe('VIEW_MESSAGE_BY_ID (33)', () => {
  it('returns the stored message for the offset in a msgId', async () => {
    const r = await send(t.client, t.brokerA, { topic: 'QueryView', queueId: 0, body: 'viewed', tags: 'V' });
    const { address, offset } = decodeMessageId(r.msgId);
    const res = await call(t.client, address, RequestCode.VIEW_MESSAGE_BY_ID, { offset });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    const m = decodeMessage(res.body!);
    expect(m).toMatchObject({ topic: 'QueryView', queueId: 0, queueOffset: 0, commitLogOffset: offset, msgId: r.msgId });
    expect(m.body.toString()).toBe('viewed');
  });

  it('a bogus offset is SYSTEM_ERROR "can not find message by the offset"', async () => {
    const r = await send(t.client, t.brokerA, { topic: 'QueryViewBogus', queueId: 0, body: 'real' });
    const { offset } = decodeMessageId(r.msgId);
    for (const bogus of [offset + 1, offset + 10_000_000, 987_654_321_012, -5]) {
      const res = await call(t.client, t.brokerA, RequestCode.VIEW_MESSAGE_BY_ID, { offset: bogus });
      expect(res.code, String(bogus)).toBe(ResponseCode.SYSTEM_ERROR);
      expect(res.remark).toBe(`can not find message by the offset, ${bogus}`);
      expect(res.body).toBeUndefined();
    }
    const notNumber = await call(t.client, t.brokerA, RequestCode.VIEW_MESSAGE_BY_ID, { offset: 'abc' });
    expect(notNumber.code).toBe(ResponseCode.SYSTEM_ERROR);
    const missing = await call(t.client, t.brokerA, RequestCode.VIEW_MESSAGE_BY_ID, {});
    expect(missing.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(missing.remark).toContain('offset');
  });
});
