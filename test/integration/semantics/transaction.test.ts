/**
 * Transactional messages over real TCP with raw protocol (ali-ons cannot send them): half messages
 * invisible until END_TRANSACTION (37); commit → visible, rollback → never; an unanswered half
 * message is checked back with CHECK_TRANSACTION_STATE (39) on the producer's own connection and the
 * producer's answer decides; never answered → discarded to TRANS_CHECK_MAX_TIME_TOPIC after
 * transactionCheckMax checks; the scan's progress survives a restart (reference §7.5, §11.3).
 * Short timings via brokerOverrides: timeout 1 s, check every 400 ms, 5 checks at most.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemotingClient } from '../../../src-main/remoting/remoting-client.js';
import { createRequest, isOneway, type RemotingCommand } from '../../../src-main/remoting/remoting-command.js';
import type { RemotingConnection } from '../../../src-main/remoting/remoting-connection.js';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { decodeMessage, decodeMessageId, type MessageExt } from '../../../src-main/broker/store/message-codec.js';
import { waitFor } from '../../harness/temp-dir.js';
import {
  call, heartbeatBody, pull, queryConsumerOffset, send, sleep, startTestCluster, type TestCluster,
} from '../../harness/broker-protocol.js';

const TIMEOUT_MS = 1000;
const INTERVAL_MS = 400;
const CHECK_MAX = 5;
const COMMIT = 8;
const ROLLBACK = 12;
const UNKNOW = 0;

let t: TestCluster;
let seq = 0;

beforeAll(async () => {
  t = await startTestCluster('it-tx', {
    brokerGroups: ['broker-a'],
    slavesPerGroup: 0,
    brokerOverrides: { transactionTimeoutMs: TIMEOUT_MS, transactionCheckIntervalMs: INTERVAL_MS, transactionCheckMax: CHECK_MAX },
  });
});

afterAll(async () => {
  await t?.stop();
});

interface Half {
  uniqKey: string;
  topic: string;
  queueId: number;
  /** Half-queue offset and commitlog offset from the send result. */
  halfOffset: number;
  commitLogOffset: number;
  offsetMsgId: string;
  bornTimestamp: number;
  body: string;
}

type Answer = number | null | ((check: RemotingCommand) => number | null);

/** A transactional producer on its own connection: heartbeats its group and answers checks. */
class TxProducer {
  readonly client = new RemotingClient({ defaultTimeoutMs: 5000 });
  readonly checks: RemotingCommand[] = [];
  readonly answers = new Map<string, Answer>();
  readonly clientId = `127.0.0.1@tx-${++seq}`;

  constructor(readonly group: string, readonly addr: () => string) {
    this.client.registerProcessor(RequestCode.CHECK_TRANSACTION_STATE, (req, conn) => this.onCheck(req, conn));
  }

  async register(): Promise<void> {
    const res = await call(this.client, this.addr(), RequestCode.HEART_BEAT, undefined, heartbeatBody(this.clientId, [], [this.group]));
    expect(res.code).toBe(ResponseCode.SUCCESS);
  }

  async sendHalf(topic: string, body: string, answer: Answer, extra: Record<string, string> = {}): Promise<Half> {
    const uniqKey = `TX${Date.now().toString(16).toUpperCase()}${(++seq).toString().padStart(6, '0')}`;
    this.answers.set(uniqKey, answer);
    const bornTimestamp = Date.now();
    const r = await send(this.client, this.addr(), {
      topic, queueId: 0, body, tags: 'TxTag', keys: `key-${uniqKey}`, producerGroup: this.group, sysFlag: 0x4, bornTimestamp,
      properties: { TRAN_MSG: 'true', PGROUP: this.group, UNIQ_KEY: uniqKey, ...extra },
    });
    return {
      uniqKey, topic, queueId: 0, halfOffset: r.queueOffset, commitLogOffset: decodeMessageId(r.msgId).offset,
      offsetMsgId: r.msgId, bornTimestamp, body,
    };
  }

  /** END_TRANSACTION as the Java producer sends it (oneway unless `twoWay`). */
  async end(h: { halfOffset: number; commitLogOffset: number; uniqKey: string }, type: number,
    opts: { twoWay?: boolean; group?: string; fromCheck?: boolean } = {}): Promise<RemotingCommand | null> {
    const header = {
      producerGroup: opts.group ?? this.group,
      tranStateTableOffset: h.halfOffset,
      commitLogOffset: h.commitLogOffset,
      commitOrRollback: type,
      fromTransactionCheck: opts.fromCheck ?? false,
      msgId: h.uniqKey,
      transactionId: h.uniqKey,
    };
    if (opts.twoWay) return call(this.client, this.addr(), RequestCode.END_TRANSACTION, header);
    await this.client.invokeOneway(this.addr(), createRequest(RequestCode.END_TRANSACTION, header, undefined, true));
    return null;
  }

  checksFor(uniqKey: string): RemotingCommand[] {
    return this.checks.filter((c) => c.extFields?.msgId === uniqKey);
  }

  close(): void {
    this.client.close();
  }

  private onCheck(req: RemotingCommand, conn: RemotingConnection): null {
    this.checks.push(req);
    const f = req.extFields ?? {};
    const uniqKey = f.msgId ?? '';
    const a = this.answers.get(uniqKey);
    const type = typeof a === 'function' ? a(req) : a;
    if (type !== null && type !== undefined) {
      // The Java producer answers on the connection the check came in on.
      conn.invokeOneway(createRequest(RequestCode.END_TRANSACTION, {
        producerGroup: this.group,
        tranStateTableOffset: f.tranStateTableOffset,
        commitLogOffset: f.commitLogOffset,
        commitOrRollback: type,
        fromTransactionCheck: true,
        msgId: uniqKey,
        transactionId: f.transactionId,
      }, undefined, true));
    }
    return null;
  }
}

async function visible(topic: string, queueId = 0): Promise<MessageExt[]> {
  const p = await pull(t.client, t.brokerA, { topic, queueId, queueOffset: 0, maxMsgNums: 64, group: 'CID_TX_READER' });
  return p.messages;
}

async function ops(): Promise<Array<{ offsets: number[]; tags: string | undefined }>> {
  const out: Array<{ offsets: number[]; tags: string | undefined }> = [];
  let offset = 0;
  for (;;) {
    const p = await pull(t.client, t.brokerA, { topic: 'RMQ_SYS_TRANS_OP_HALF_TOPIC', queueOffset: offset, maxMsgNums: 64, group: 'CID_TX_READER' });
    if (p.messages.length === 0) return out;
    for (const m of p.messages) {
      out.push({ offsets: m.body.toString().split(',').filter((x) => x !== '').map(Number), tags: m.properties.TAGS });
    }
    offset = p.nextBeginOffset;
  }
}

const broker = () => t.cluster.broker('broker-a')!;

describe('END_TRANSACTION', () => {
  it('a half message is invisible; commit makes exactly one real message visible, op recorded', async () => {
    const p = new TxProducer('PID_TX_COMMIT', () => t.brokerA);
    await p.register();
    const h = await p.sendHalf('TxCommit', 'pay-1', null);
    expect((await visible('TxCommit'))).toHaveLength(0);
    // The half message sits in the half topic with the real destination in its properties.
    const stored = decodeMessage((await call(t.client, t.brokerA, RequestCode.VIEW_MESSAGE_BY_ID, { offset: h.commitLogOffset })).body!);
    expect(stored.topic).toBe('RMQ_SYS_TRANS_HALF_TOPIC');
    expect(stored.sysFlag & 0xc).toBe(0);
    expect(stored.properties).toMatchObject({ REAL_TOPIC: 'TxCommit', REAL_QID: '0', TRAN_MSG: 'true', __transactionId__: h.uniqKey });

    await p.end(h, COMMIT);
    await waitFor(async () => (await visible('TxCommit')).length > 0, 5000, 'the committed message');
    const [m, ...rest] = await visible('TxCommit');
    expect(rest).toHaveLength(0);
    expect(m!.body.toString()).toBe('pay-1');
    expect(m!.sysFlag & 0xc).toBe(COMMIT);
    expect(m!.preparedTransactionOffset).toBe(h.commitLogOffset);
    expect(m!.bornTimestamp).toBe(h.bornTimestamp);
    expect(m!.properties).toMatchObject({ UNIQ_KEY: h.uniqKey, TAGS: 'TxTag', KEYS: `key-${h.uniqKey}`, PGROUP: 'PID_TX_COMMIT' });
    for (const gone of ['REAL_TOPIC', 'REAL_QID', 'TRAN_MSG']) expect(m!.properties[gone]).toBeUndefined();
    expect((await ops()).some((o) => o.tags === 'd' && o.offsets.includes(h.halfOffset))).toBe(true);

    // A second END for the same transaction (e.g. a late answer) does not store it again.
    await p.end(h, COMMIT);
    await p.end(h, ROLLBACK);
    await sleep(TIMEOUT_MS + 3 * INTERVAL_MS);
    expect(await visible('TxCommit')).toHaveLength(1);
    expect(p.checksFor(h.uniqKey)).toHaveLength(0);
    p.close();
  });

  it('rollback: never visible, and never checked', async () => {
    const p = new TxProducer('PID_TX_ROLLBACK', () => t.brokerA);
    await p.register();
    const h = await p.sendHalf('TxRollback', 'cancelled', COMMIT); // a check would commit it: there must be none
    await p.end(h, ROLLBACK);
    await waitFor(async () => (await ops()).some((o) => o.offsets.includes(h.halfOffset)), 5000, 'the rollback op');
    await sleep(TIMEOUT_MS + 4 * INTERVAL_MS);
    expect(await visible('TxRollback')).toHaveLength(0);
    expect(p.checksFor(h.uniqKey)).toHaveLength(0);
    p.close();
  });

  it('UNKNOW (0) changes nothing: the message stays pending and gets checked', async () => {
    const p = new TxProducer('PID_TX_UNKNOW', () => t.brokerA);
    await p.register();
    const h = await p.sendHalf('TxUnknow', 'later', COMMIT);
    const res = await p.end(h, UNKNOW, { twoWay: true });
    expect(res!.code).toBe(ResponseCode.SUCCESS);
    expect(await visible('TxUnknow')).toHaveLength(0);
    await waitFor(async () => (await visible('TxUnknow')).length === 1, 10_000, 'commit through the check');
    expect(p.checksFor(h.uniqKey)).toHaveLength(1);
    p.close();
  });

  it('refuses a wrong producer group, wrong offsets, and an unknown commitLogOffset (two-way answers)', async () => {
    const p = new TxProducer('PID_TX_CHECKS', () => t.brokerA);
    await p.register();
    const h = await p.sendHalf('TxRefused', 'x', ROLLBACK);
    const wrongGroup = await p.end(h, COMMIT, { twoWay: true, group: 'PID_SOMEONE_ELSE' });
    expect(wrongGroup!.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(wrongGroup!.remark).toContain('The producer group wrong');
    const wrongOffset = await p.end({ ...h, halfOffset: h.halfOffset + 1000 }, COMMIT, { twoWay: true });
    expect(wrongOffset!.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(wrongOffset!.remark).toContain('The transaction state table offset wrong');
    const nowhere = await p.end({ ...h, commitLogOffset: 999_999_999 }, COMMIT, { twoWay: true });
    expect(nowhere!.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(nowhere!.remark).toContain('Find prepared transaction message failed');
    const ok = await p.end(h, ROLLBACK, { twoWay: true });
    expect(ok!.code).toBe(ResponseCode.SUCCESS);
    expect(await visible('TxRefused')).toHaveLength(0);
    p.close();
  });
});

describe('check-back', () => {
  it('an unanswered half message is checked on the producer connection with the half message as body; commit answers it', async () => {
    const p = new TxProducer('PID_TX_CHECK_COMMIT', () => t.brokerA);
    await p.register();
    const h = await p.sendHalf('TxCheckCommit', 'checked-then-committed', COMMIT);
    await waitFor(() => p.checksFor(h.uniqKey).length > 0, 10_000, 'CHECK_TRANSACTION_STATE');
    const arrived = Date.now();
    expect(arrived - h.bornTimestamp).toBeGreaterThanOrEqual(TIMEOUT_MS);
    const check = p.checksFor(h.uniqKey)[0]!;
    expect(check.code).toBe(RequestCode.CHECK_TRANSACTION_STATE);
    expect(isOneway(check)).toBe(true);
    const f = check.extFields!;
    // The check names the copy the broker appended for it (a later half-queue offset).
    const copyOffset = Number(f.tranStateTableOffset);
    const copyCommitLogOffset = Number(f.commitLogOffset);
    expect(copyOffset).toBeGreaterThan(h.halfOffset);
    expect(copyCommitLogOffset).toBeGreaterThan(h.commitLogOffset);
    expect(f.msgId).toBe(h.uniqKey);
    expect(f.transactionId).toBe(h.uniqKey);
    expect(decodeMessageId(f.offsetMsgId!).offset).toBe(copyCommitLogOffset);
    expect(f.topic).toBe('TxCheckCommit');
    expect(f.bname).toBe('broker-a');
    const body = decodeMessage(check.body!);
    expect(body.topic).toBe('TxCheckCommit');
    expect(body.queueId).toBe(0);
    expect(body.queueOffset).toBe(copyOffset);
    expect(body.commitLogOffset).toBe(copyCommitLogOffset);
    expect(body.body.toString()).toBe('checked-then-committed');
    expect(body.bornTimestamp).toBe(h.bornTimestamp);
    expect(body.properties).toMatchObject({
      UNIQ_KEY: h.uniqKey, PGROUP: 'PID_TX_CHECK_COMMIT', TRANSACTION_CHECK_TIMES: '1',
      TRAN_PREPARED_QUEUE_OFFSET: String(h.halfOffset), REAL_TOPIC: 'TxCheckCommit', REAL_QID: '0',
    });

    await waitFor(async () => (await visible('TxCheckCommit')).length === 1, 5000, 'the message committed by the check answer');
    const [m] = await visible('TxCheckCommit');
    expect(m!.body.toString()).toBe('checked-then-committed');
    expect(m!.preparedTransactionOffset).toBe(copyCommitLogOffset);
    // Closed: no further checks, and the producer's own (late) commit adds nothing.
    await p.end(h, COMMIT);
    await sleep(TIMEOUT_MS + 3 * INTERVAL_MS);
    expect(p.checksFor(h.uniqKey)).toHaveLength(1);
    expect(await visible('TxCheckCommit')).toHaveLength(1);
    p.close();
  });

  it('a rollback answer drops it for good', async () => {
    const p = new TxProducer('PID_TX_CHECK_ROLLBACK', () => t.brokerA);
    await p.register();
    const h = await p.sendHalf('TxCheckRollback', 'checked-then-rolled-back', ROLLBACK);
    await waitFor(() => p.checksFor(h.uniqKey).length > 0, 10_000, 'CHECK_TRANSACTION_STATE');
    await sleep(TIMEOUT_MS + 4 * INTERVAL_MS);
    expect(p.checksFor(h.uniqKey)).toHaveLength(1);
    expect(await visible('TxCheckRollback')).toHaveLength(0);
    p.close();
  });

  it('is checked again at the interval while the answer is UNKNOW, counting checks; a later commit wins', async () => {
    const p = new TxProducer('PID_TX_CHECK_AGAIN', () => t.brokerA);
    await p.register();
    const h = await p.sendHalf('TxCheckAgain', 'second-time-lucky', () => (p.checks.length >= 2 ? COMMIT : UNKNOW));
    await waitFor(async () => (await visible('TxCheckAgain')).length === 1, 10_000, 'commit on the second check');
    const checks = p.checksFor(h.uniqKey);
    expect(checks).toHaveLength(2);
    expect(checks.map((c) => decodeMessage(c.body!).properties.TRANSACTION_CHECK_TIMES)).toEqual(['1', '2']);
    expect(Number(checks[1]!.extFields!.tranStateTableOffset)).toBeGreaterThan(Number(checks[0]!.extFields!.tranStateTableOffset));
    // Every copy carries the original half offset.
    for (const c of checks) expect(decodeMessage(c.body!).properties.TRAN_PREPARED_QUEUE_OFFSET).toBe(String(h.halfOffset));
    p.close();
  });

  it(`never answered: checked exactly ${CHECK_MAX} times, then discarded to TRANS_CHECK_MAX_TIME_TOPIC`, async () => {
    const p = new TxProducer('PID_TX_NEVER', () => t.brokerA);
    await p.register();
    const before = (await pull(t.client, t.brokerA, { topic: 'TRANS_CHECK_MAX_TIME_TOPIC', queueOffset: 0, group: 'CID_TX_READER' })).messages.length;
    const h = await p.sendHalf('TxNever', 'abandoned', null);
    const discarded = async (): Promise<MessageExt[]> => (await pull(t.client, t.brokerA,
      { topic: 'TRANS_CHECK_MAX_TIME_TOPIC', queueOffset: 0, maxMsgNums: 64, group: 'CID_TX_READER' })).messages
      .filter((m) => m.properties.UNIQ_KEY === h.uniqKey);
    await waitFor(async () => (await discarded()).length > 0, 15_000, 'the discarded half message');
    const checks = p.checksFor(h.uniqKey);
    expect(checks).toHaveLength(CHECK_MAX);
    expect(checks.map((c) => decodeMessage(c.body!).properties.TRANSACTION_CHECK_TIMES))
      .toEqual(Array.from({ length: CHECK_MAX }, (_, i) => String(i + 1)));
    const [d, ...more] = await discarded();
    expect(more).toHaveLength(0);
    expect(d!.body.toString()).toBe('abandoned');
    expect(d!.properties).toMatchObject({ TRANSACTION_CHECK_TIMES: String(CHECK_MAX), REAL_TOPIC: 'TxNever', PGROUP: 'PID_TX_NEVER' });
    expect((await pull(t.client, t.brokerA, { topic: 'TRANS_CHECK_MAX_TIME_TOPIC', queueOffset: 0, maxMsgNums: 64, group: 'CID_TX_READER' }))
      .messages.length).toBe(before + 1);
    await sleep(TIMEOUT_MS + 3 * INTERVAL_MS);
    expect(p.checksFor(h.uniqKey)).toHaveLength(CHECK_MAX);
    expect(await visible('TxNever')).toHaveLength(0);
    // A commit arriving after the discard is ignored.
    await p.end(h, COMMIT);
    await sleep(300);
    expect(await visible('TxNever')).toHaveLength(0);
    p.close();
  });

  it('with no producer of the group online, checks still count and the message is discarded', async () => {
    const p = new TxProducer('PID_TX_GONE', () => t.brokerA);
    await p.register();
    const h = await p.sendHalf('TxGone', 'orphan', COMMIT);
    p.close(); // its connection closes: the broker forgets the producer
    await waitFor(async () => (await pull(t.client, t.brokerA, { topic: 'TRANS_CHECK_MAX_TIME_TOPIC', queueOffset: 0, maxMsgNums: 64, group: 'CID_TX_READER' }))
      .messages.some((m) => m.properties.UNIQ_KEY === h.uniqKey), 15_000, 'the orphan discarded');
    expect(await visible('TxGone')).toHaveLength(0);
  });

  it('a CHECK_IMMUNITY_TIME_IN_SECONDS message is not checked before its immunity ends', async () => {
    const p = new TxProducer('PID_TX_IMMUNE', () => t.brokerA);
    await p.register();
    const h = await p.sendHalf('TxImmune', 'immune', COMMIT, { CHECK_IMMUNITY_TIME_IN_SECONDS: '3' });
    await waitFor(() => p.checksFor(h.uniqKey).length > 0, 12_000, 'the check after the immunity');
    expect(Date.now() - h.bornTimestamp).toBeGreaterThanOrEqual(3000);
    await waitFor(async () => (await visible('TxImmune')).length === 1, 5000, 'committed');
    p.close();
  });
});

describe('console view and restart', () => {
  it('lists pending half messages with group, topic, keys, age and check count, and totals', async () => {
    const p = new TxProducer('PID_TX_LIST', () => t.brokerA);
    await p.register();
    const h = await p.sendHalf('TxListed', 'pending', UNKNOW);
    const list = broker().transactions!.listPending();
    const item = list.items.find((i) => i.msgId === h.uniqKey);
    expect(item).toMatchObject({
      producerGroup: 'PID_TX_LIST', topic: 'TxListed', queueId: 0, keys: `key-${h.uniqKey}`, tags: 'TxTag',
      originalHalfOffset: h.halfOffset, halfOffset: h.halfOffset, checkTimes: 0, transactionId: h.uniqKey,
    });
    expect(item!.ageMs).toBeGreaterThanOrEqual(0);
    expect(list.totals.committed).toBeGreaterThanOrEqual(4);
    expect(list.totals.rolledBack).toBeGreaterThanOrEqual(2);
    expect(list.totals.discarded).toBeGreaterThanOrEqual(2);
    await waitFor(() => p.checksFor(h.uniqKey).length >= 1, 10_000, 'first check');
    await waitFor(() => (broker().transactions!.listPending().items.find((i) => i.msgId === h.uniqKey)?.checkTimes ?? 0) >= 1,
      5000, 'the listing to show the check');
    await p.end(h, ROLLBACK);
    await waitFor(() => !broker().transactions!.listPending().items.some((i) => i.msgId === h.uniqKey), 5000, 'gone from the list');
    p.close();
  });

  it('after a restart, closed transactions are not checked again and a pending one continues its count', async () => {
    const group = 'PID_TX_RESTART';
    let p = new TxProducer(group, () => t.brokerA);
    await p.register();
    const closed = await p.sendHalf('TxRestart', 'closed-before-restart', ROLLBACK);
    await p.end(closed, COMMIT);
    const pending = await p.sendHalf('TxRestart', 'pending-over-restart', UNKNOW);
    await waitFor(() => p.checksFor(pending.uniqKey).length >= 1, 10_000, 'first check before the restart');
    await sleep(INTERVAL_MS); // let the scan commit its progress
    const progress = Number((await queryConsumerOffset(t.client, t.brokerA, 'CID_RMQ_SYS_TRANS', 'RMQ_SYS_TRANS_HALF_TOPIC', 0)).extFields!.offset);
    expect(progress).toBeGreaterThan(closed.halfOffset);
    const checksBefore = p.checksFor(pending.uniqKey).length;
    p.close();

    await t.restart();
    p = new TxProducer(group, () => t.brokerA);
    p.answers.set(pending.uniqKey, COMMIT);
    p.answers.set(closed.uniqKey, COMMIT);
    await p.register();
    const after = Number((await queryConsumerOffset(t.client, t.brokerA, 'CID_RMQ_SYS_TRANS', 'RMQ_SYS_TRANS_HALF_TOPIC', 0)).extFields!.offset);
    expect(after).toBeGreaterThanOrEqual(progress);
    await waitFor(async () => (await visible('TxRestart')).length === 2, 15_000, 'the pending one committed after the restart');
    // The count continues from before the restart (a scan may have run before the producer reconnected).
    const check = p.checksFor(pending.uniqKey)[0]!;
    const times = Number(decodeMessage(check.body!).properties.TRANSACTION_CHECK_TIMES);
    expect(times).toBeGreaterThanOrEqual(checksBefore + 1);
    expect(times).toBeLessThanOrEqual(CHECK_MAX);
    expect(p.checksFor(closed.uniqKey)).toHaveLength(0);
    expect((await visible('TxRestart')).map((m) => m.body.toString()).sort()).toEqual(['closed-before-restart', 'pending-over-restart']);
    p.close();
  }, 60_000);
});
