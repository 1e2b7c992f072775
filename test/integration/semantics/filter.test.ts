/**
 * Broker-side filtering with the real ali-ons client: a tag subscription (`A || B`) and SQL92
 * subscriptions (comparisons, BETWEEN, IN, IS NULL, AND/OR/NOT over user properties and TAGS) each
 * receive exactly the matching messages; messages without the property never match. Raw protocol
 * for what ali-ons does not do: CHECK_CLIENT_CONFIG (46) validation at subscription time, SQL92 pulls
 * that page past many non-matching messages, long polls woken only by matching arrivals, and a
 * broker with enablePropertyFilter=false (reference §7.3, §7.4, issue item 5).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../../src-main/broker/cluster/cluster.js';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { MQAdmin } from '../../../src-main/remoting/admin/mq-admin.js';
import { decodeMessages, type MessageExt } from '../../../src-main/broker/store/message-codec.js';
import { tempDir, waitFor } from '../../harness/temp-dir.js';
import { PULL_FLAG, call, send, sleep } from '../../harness/broker-protocol.js';
import {
  createMessage, trackClients, type OnsConsumer, type OnsMessage,
} from '../../harness/ali-ons.js';



const clients = trackClients({ withDefaultProducer: true });
const { createConsumer, createProducer } = clients;

type Subscription = string | { expressionType: 'SQL92'; subString: string };
const subscribe = (c: OnsConsumer, topic: string, expression: Subscription, handler: (m: OnsMessage) => Promise<void>): void =>
  (c.subscribe as unknown as (t: string, e: Subscription, h: (m: OnsMessage) => Promise<void>) => void)(topic, expression, handler);

const dir = tempDir('semantics-filter');
let cluster: EmbeddedCluster;
let admin: MQAdmin;
let client: RemotingClient;
const brokerA = (): string => cluster.broker('broker-a')!.address;

beforeAll(async () => {
  cluster = await startCluster({ dataDir: dir.path, namesrvPort: 0, slavesPerGroup: 0 });
  admin = new MQAdmin(cluster.namesrvAddr);
  client = new RemotingClient({ defaultTimeoutMs: 5000 });
});

afterEach(() => clients.closeAll());

afterAll(async () => {
  client?.close();
  admin?.close();
  await cluster?.stop();
  dir.remove();
});

interface Sent {
  i: number;
  tag: string;
  a?: number;
  region?: string;
}

describe('tag and SQL92 subscriptions with ali-ons', () => {
  const TOPIC = 'FilterTopic';
  const N = 120;
  const sent: Sent[] = [];

  beforeAll(async () => {
    await admin.createTopic(TOPIC, 4);
    const producer = createProducer(cluster.namesrvAddr, 'PID_FILTER', 'filter-p');
    await producer.ready();
    for (let i = 0; i < N; i++) {
      const s: Sent = { i, tag: ['TagA', 'TagB', 'TagC'][i % 3]! };
      const msg = createMessage(TOPIC, s.tag, `f-${i}`, [`k-${i}`]);
      if (i % 7 !== 0) s.a = i % 10; // every 7th message has no `a`
      if (i % 5 !== 0) s.region = i % 2 === 0 ? 'eu' : 'us'; // every 5th has no `region`
      if (s.a !== undefined) msg.properties.a = String(s.a);
      if (s.region !== undefined) msg.properties.region = s.region;
      expect((await producer.send(msg)).sendStatus).toBe('SEND_OK');
      sent.push(s);
    }
    await producer.close();
  });

  /** Consumes with a fresh group until `expected` bodies arrived, then a little longer; returns what came. */
  async function consume(group: string, expression: Subscription, expected: Sent[]): Promise<string[]> {
    const got: string[] = [];
    const c = createConsumer(cluster.namesrvAddr, group, `${group}-1`);
    subscribe(c, TOPIC, expression, async (m) => {
      got.push(m.body.toString());
    });
    await c.ready();
    await waitFor(() => got.length >= expected.length, 30_000, `${group}: ${expected.length} messages (have ${got.length})`);
    await sleep(1500);
    await c.close();
    return got.sort();
  }

  const bodies = (list: Sent[]): string[] => list.map((s) => `f-${s.i}`).sort();

  it('TAG `TagA || TagB` receives exactly those tags', async () => {
    const expected = sent.filter((s) => s.tag === 'TagA' || s.tag === 'TagB');
    expect(await consume('GID_FILTER_TAG', 'TagA || TagB', expected)).toEqual(bodies(expected));
  }, 60_000);

  it("SQL92 `a > 5 AND TAGS <> 'TagC'` receives exactly the matching messages (none without `a`)", async () => {
    const expected = sent.filter((s) => s.a !== undefined && s.a > 5 && s.tag !== 'TagC');
    expect(expected.length).toBeGreaterThan(10);
    expect(await consume('GID_FILTER_SQL_1', { expressionType: 'SQL92', subString: "a > 5 AND TAGS <> 'TagC'" }, expected))
      .toEqual(bodies(expected));
  }, 60_000);

  it("SQL92 with BETWEEN, IN, IS NULL, OR and NOT", async () => {
    const sql = "(a BETWEEN 2 AND 4 AND region IN ('eu')) OR (region IS NULL AND NOT (TAGS = 'TagA'))";
    const expected = sent.filter((s) => (s.a !== undefined && s.a >= 2 && s.a <= 4 && s.region === 'eu')
      || (s.region === undefined && s.tag !== 'TagA'));
    expect(expected.length).toBeGreaterThan(10);
    expect(await consume('GID_FILTER_SQL_2', { expressionType: 'SQL92', subString: sql }, expected)).toEqual(bodies(expected));
  }, 60_000);

  it('SQL92 `a IS NULL` receives exactly the messages without the property', async () => {
    const expected = sent.filter((s) => s.a === undefined);
    expect(await consume('GID_FILTER_SQL_3', { expressionType: 'SQL92', subString: 'a IS NULL' }, expected)).toEqual(bodies(expected));
  }, 60_000);

  it('a bad SQL92 expression fails every pull with SUBSCRIPTION_PARSE_FAILED and a clear reason', async () => {
    const errors: Array<Error & { code?: number }> = [];
    const c = createConsumer(cluster.namesrvAddr, 'GID_FILTER_BAD', 'bad-1', { pullTimeDelayMillsWhenException: 200 });
    c.on('error', (e) => errors.push(e));
    const got: string[] = [];
    subscribe(c, TOPIC, { expressionType: 'SQL92', subString: 'a >' }, async (m) => {
      got.push(m.body.toString());
    });
    await c.ready();
    await waitFor(() => errors.some((e) => e.code === ResponseCode.SUBSCRIPTION_PARSE_FAILED), 20_000, 'a pull error');
    const e = errors.find((x) => x.code === ResponseCode.SUBSCRIPTION_PARSE_FAILED)!;
    expect(e.message).toContain("parse the consumer's subscription failed");
    expect(e.message).toContain('unexpected end of the expression');
    expect(got).toEqual([]);
  }, 40_000);
});

/** CHECK_CLIENT_CONFIG as Java's DefaultMQPushConsumer#checkClientInBroker sends it. */
function checkClientConfig(addr: string, expressionType: string, subString: string): Promise<{ code: number; remark?: string }> {
  const body = { clientId: '127.0.0.1@check', group: 'GID_CHECK', namespace: '', subscriptionData: {
    topic: 'FilterTopic', subString, expressionType, tagsSet: [], codeSet: [], subVersion: Date.now(), classFilterMode: false,
  } };
  return call(client, addr, RequestCode.CHECK_CLIENT_CONFIG, undefined, Buffer.from(JSON.stringify(body)));
}

interface SqlPull {
  code: number;
  remark?: string;
  nextBeginOffset: number;
  maxOffset: number;
  messages: MessageExt[];
}

async function sqlPull(addr: string, o: { topic: string; queueOffset: number; sql: string; maxMsgNums?: number; sysFlag?: number;
  suspendTimeoutMillis?: number; expressionType?: string }): Promise<SqlPull> {
  const res = await call(client, addr, RequestCode.PULL_MESSAGE, {
    consumerGroup: 'GID_SQL_RAW', topic: o.topic, queueId: 0, queueOffset: o.queueOffset, maxMsgNums: o.maxMsgNums ?? 32,
    sysFlag: o.sysFlag ?? PULL_FLAG.SUBSCRIPTION, commitOffset: 0, suspendTimeoutMillis: o.suspendTimeoutMillis ?? 1000,
    subscription: o.sql, subVersion: 0, expressionType: o.expressionType ?? 'SQL92',
  }, undefined, 10_000);
  return {
    code: res.code, remark: res.remark, nextBeginOffset: Number(res.extFields?.nextBeginOffset), maxOffset: Number(res.extFields?.maxOffset),
    messages: res.code === 0 && res.body ? decodeMessages(res.body) : [],
  };
}

describe('SQL92 over the raw protocol', () => {
  it('CHECK_CLIENT_CONFIG validates the expression at subscription time', async () => {
    expect((await checkClientConfig(brokerA(), 'TAG', 'A || B')).code).toBe(ResponseCode.SUCCESS);
    expect((await checkClientConfig(brokerA(), 'SQL92', "a > 5 AND b IN ('x')")).code).toBe(ResponseCode.SUCCESS);
    const bad = await checkClientConfig(brokerA(), 'SQL92', "a BETWEEN 'x' AND 'y'");
    expect(bad.code).toBe(ResponseCode.SUBSCRIPTION_PARSE_FAILED);
    expect(bad.remark).toContain("'x' cannot be compared with >=: only numbers can");
    const unknown = await checkClientConfig(brokerA(), 'XPATH', '/a');
    expect(unknown.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(unknown.remark).toContain('does not support consumer to filter message by XPATH');
  });

  it('pages past non-matching messages, honours maxMsgNums and resumes after the last one returned', async () => {
    const topic = 'SqlPaging';
    for (let i = 0; i < 1000; i++) {
      await send(client, brokerA(), { topic, queueId: 0, body: `p-${i}`, properties: i >= 990 || i === 5 ? { hit: 'yes', n: String(i) } : { n: String(i) } });
    }
    // 5 matches; the rest lie beyond the 800-candidate budget of one pull.
    const first = await sqlPull(brokerA(), { topic, queueOffset: 0, sql: "hit = 'yes'" });
    expect(first.code).toBe(ResponseCode.SUCCESS);
    expect(first.messages.map((m) => m.body.toString())).toEqual(['p-5']);
    expect(first.nextBeginOffset).toBe(800);
    const second = await sqlPull(brokerA(), { topic, queueOffset: first.nextBeginOffset, sql: "hit = 'yes'", maxMsgNums: 4 });
    expect(second.messages.map((m) => m.body.toString())).toEqual(['p-990', 'p-991', 'p-992', 'p-993']);
    expect(second.nextBeginOffset).toBe(994);
    const third = await sqlPull(brokerA(), { topic, queueOffset: second.nextBeginOffset, sql: "hit = 'yes'" });
    expect(third.messages.map((m) => m.body.toString())).toEqual(['p-994', 'p-995', 'p-996', 'p-997', 'p-998', 'p-999']);
    expect(third.nextBeginOffset).toBe(1000);
    // Nothing matches in a whole window: retry at once from further on (PULL_RETRY_IMMEDIATELY).
    const none = await sqlPull(brokerA(), { topic, queueOffset: 10, sql: 'n > 5000' });
    expect(none.code).toBe(ResponseCode.PULL_RETRY_IMMEDIATELY);
    expect(none.nextBeginOffset).toBe(810);
    const numeric = await sqlPull(brokerA(), { topic, queueOffset: 0, sql: 'n BETWEEN 100 AND 102' });
    expect(numeric.messages.map((m) => m.body.toString())).toEqual(['p-100', 'p-101', 'p-102']);
  }, 60_000);

  it('a held SQL92 pull is woken by a matching arrival only', async () => {
    const topic = 'SqlHold';
    await send(client, brokerA(), { topic, queueId: 0, body: 'old', properties: { color: 'red' } });
    let answered: SqlPull | null = null;
    const pending = sqlPull(brokerA(), {
      topic, queueOffset: 1, sql: "color = 'blue'", sysFlag: PULL_FLAG.SUBSCRIPTION | PULL_FLAG.SUSPEND, suspendTimeoutMillis: 8000,
    }).then((r) => {
      answered = r;
      return r;
    });
    await sleep(300);
    await send(client, brokerA(), { topic, queueId: 0, body: 'red-1', properties: { color: 'red' } });
    await send(client, brokerA(), { topic, queueId: 0, body: 'no-color' });
    await sleep(600);
    expect(answered).toBeNull();
    await send(client, brokerA(), { topic, queueId: 0, body: 'blue-1', properties: { color: 'blue' } });
    const r = await pending;
    expect(r.code).toBe(ResponseCode.SUCCESS);
    expect(r.messages.map((m) => m.body.toString())).toEqual(['blue-1']);
    expect(r.nextBeginOffset).toBe(4);
  });

  it('a parse error in a pull is SUBSCRIPTION_PARSE_FAILED naming the problem', async () => {
    const r = await sqlPull(brokerA(), { topic: 'SqlHold', queueOffset: 0, sql: 'color = NULL' });
    expect(r.code).toBe(ResponseCode.SUBSCRIPTION_PARSE_FAILED);
    expect(r.remark).toContain("parse the consumer's subscription failed: Invalid SQL92 expression \"color = NULL\"");
    expect(r.remark).toContain('use IS NULL');
  });
});

describe('enablePropertyFilter=false', () => {
  it('refuses SQL92 subscriptions at check and at pull, as RocketMQ does; TAG still works', async () => {
    const off = tempDir('semantics-filter-off');
    const c = await startCluster({
      dataDir: off.path, namesrvPort: 0, brokerGroups: ['broker-x'], slavesPerGroup: 0, brokerOverrides: { enablePropertyFilter: false },
    });
    try {
      const addr = c.broker('broker-x')!.address;
      const check = await checkClientConfig(addr, 'SQL92', 'a > 1');
      expect(check.code).toBe(ResponseCode.SYSTEM_ERROR);
      expect(check.remark).toContain('The broker does not support consumer to filter message by SQL92');
      expect((await checkClientConfig(addr, 'TAG', '*')).code).toBe(ResponseCode.SUCCESS);
      await send(client, addr, { topic: 'NoSql', queueId: 0, body: 'x', properties: { a: '2' } });
      const p = await sqlPull(addr, { topic: 'NoSql', queueOffset: 0, sql: 'a > 1' });
      expect(p.code).toBe(ResponseCode.SYSTEM_ERROR);
      expect(p.remark).toContain('does not support consumer to filter message by SQL92');
      const tag = await sqlPull(addr, { topic: 'NoSql', queueOffset: 0, sql: '*', expressionType: 'TAG' });
      expect(tag.messages.map((m) => m.body.toString())).toEqual(['x']);
    } finally {
      client.closeConnection(c.broker('broker-x')!.address);
      await c.stop();
      off.remove();
    }
  });
});
