/**
 * The delay scheduler's parts against a real MessageStore in a temp dir: routing rules, the
 * progress file (round trip, damage), the timer bookkeeping (bitmap, bounded due buffer), and the
 * services delivering in due order, never early, exactly once across a stop/start, and at least
 * once (never lost) when progress was not saved.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MessageStore, type MessageToStore } from '../../../../src-main/broker/store/message-store.js';
import { decodeMessages } from '../../../../src-main/broker/store/message-codec.js';
import { DelayOffsetStore, DELAY_OFFSETS_FILE } from '../../../../src-main/broker/schedule/delay-offset-store.js';
import { OffsetBitmap } from '../../../../src-main/broker/schedule/offset-bitmap.js';
import { DueBuffer } from '../../../../src-main/broker/schedule/due-buffer.js';
import {
  TIMER_TOPIC, formatDelayLevels, routeScheduledMessage, scheduleTagsCode,
} from '../../../../src-main/broker/schedule/schedule-routing.js';
import { ScheduleMessageService } from '../../../../src-main/broker/schedule/schedule-message-service.js';

const LEVELS = [100, 200, 300];
const silent = { info: (): void => undefined, warn: (): void => undefined, error: (): void => undefined };
let dir: string;
const openStores: MessageStore[] = [];
const services: ScheduleMessageService[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdesk-schedule-'));
});
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  for (const s of openStores.splice(0)) await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function openStore(): Promise<MessageStore> {
  const store = new MessageStore({
    storeDir: path.join(dir, 'store'),
    storeHost: '127.0.0.1:10911',
    commitLogSegmentSize: 1024 * 1024,
    tagsCodeResolver: (topic, props, ts) => scheduleTagsCode(topic, props, ts, LEVELS),
  });
  await store.open();
  openStores.push(store);
  return store;
}

function service(store: MessageStore, timerBufferCapacity?: number): ScheduleMessageService {
  const s = new ScheduleMessageService({ store, delayLevelsMs: LEVELS, metaDir: dir, logger: silent, timerBufferCapacity });
  services.push(s);
  return s;
}

/** Puts a message the way the send path does (routing mutates the properties). */
async function put(store: MessageStore, key: string, props: Record<string, string>): Promise<void> {
  const properties = { KEYS: key, TAGS: 'T', ...props };
  const route = routeScheduledMessage('Real', 0, properties, LEVELS);
  if (route.kind === 'illegal') throw new Error(route.reason);
  const m: MessageToStore = {
    topic: route.kind === 'none' ? 'Real' : route.topic,
    queueId: route.kind === 'none' ? 0 : route.queueId,
    flag: 0, body: Buffer.from(key), properties, sysFlag: 0, bornTimestamp: Date.now(), bornHost: '127.0.0.1:5000',
    reconsumeTimes: 0, preparedTransactionOffset: 0,
  };
  const r = await store.putMessage(m);
  expect(r.status).toBe('PUT_OK');
}

function realMessages(store: MessageStore) {
  const r = store.getMessage('Real', 0, 0, 1000);
  return r.status === 'FOUND' ? decodeMessages(Buffer.concat(r.messages)) : [];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('routing (HookUtils#handleScheduleMessage)', () => {
  it('DELAY > 0 goes to SCHEDULE_TOPIC_XXXX queue level−1, clamped to the last level, timer properties dropped', () => {
    const p: Record<string, string> = { DELAY: '7', TIMER_DELIVER_MS: String(Date.now() + 5000) };
    expect(routeScheduledMessage('T', 3, p, LEVELS)).toEqual({ kind: 'level', topic: 'SCHEDULE_TOPIC_XXXX', queueId: 2, level: 3 });
    expect(p).toEqual({ DELAY: '7', REAL_TOPIC: 'T', REAL_QID: '3' });
    expect(scheduleTagsCode('SCHEDULE_TOPIC_XXXX', p, 1000, LEVELS)).toBe(1300);
  });

  it('DELAY 0, -1 or garbage is not delayed', () => {
    for (const d of ['0', '-1', 'x', '1.5']) expect(routeScheduledMessage('T', 0, { DELAY: d }, LEVELS).kind).toBe('none');
  });

  it('timer properties: DELAY_SEC, then DELAY_MS, then DELIVER_MS; past is immediate; > 3 days or garbage is illegal', () => {
    const now = 1_000_000;
    const p: Record<string, string> = { TIMER_DELAY_MS: '1500', TIMER_DELIVER_MS: '5' };
    expect(routeScheduledMessage('T', 1, p, LEVELS, now)).toEqual({ kind: 'timer', topic: TIMER_TOPIC, queueId: 0, deliverMs: now + 1500 });
    expect(p).toMatchObject({ TIMER_OUT_MS: String(now + 1500), REAL_TOPIC: 'T', REAL_QID: '1' });
    expect(scheduleTagsCode(TIMER_TOPIC, p, 7, LEVELS)).toBe(now + 1500);
    expect(routeScheduledMessage('T', 1, { TIMER_DELAY_SEC: '2', TIMER_DELAY_MS: '1' }, LEVELS, now)).toMatchObject({ deliverMs: now + 2000 });
    expect(routeScheduledMessage('T', 1, { TIMER_DELIVER_MS: String(now - 1) }, LEVELS, now).kind).toBe('none');
    expect(routeScheduledMessage('T', 1, { TIMER_DELAY_SEC: String(3 * 86400 + 1) }, LEVELS, now).kind).toBe('illegal');
    expect(routeScheduledMessage('T', 1, { TIMER_DELIVER_MS: '12abc' }, LEVELS, now).kind).toBe('illegal');
    expect(scheduleTagsCode('Other', { TAGS: 'x' }, 7, LEVELS)).toBeUndefined();
  });

  it('formats levels as messageDelayLevel does', () => {
    expect(formatDelayLevels([1000, 5000, 60_000, 7_200_000, 250])).toBe('1s 5s 1m 2h 250ms');
  });
});

describe('progress file (delay-offsets.json)', () => {
  it('round-trips levels and timer progress', () => {
    const s = new DelayOffsetStore(dir);
    expect(s.load()).toEqual({ progress: { version: 1, levels: {}, timer: { low: 0, origin: 0, bits: '' } } });
    const progress = { version: 1 as const, levels: { 1: 5, 2: 0, 18: 9 }, timer: { low: 3, origin: 0, bits: 'Bw==' } };
    s.save(progress);
    expect(new DelayOffsetStore(dir).load()).toEqual({ progress: { ...progress, levels: { 1: 5, 2: 0, 18: 9 } } });
    expect(fs.existsSync(path.join(dir, `${DELAY_OFFSETS_FILE}.tmp`))).toBe(false);
  });

  it('a damaged file is reported and ignored (rescan from the start: at least once, never lost)', () => {
    const s = new DelayOffsetStore(dir);
    s.save({ version: 1, levels: { 1: 5 }, timer: { low: 0, origin: 0, bits: '' } });
    const file = path.join(dir, DELAY_OFFSETS_FILE);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"1":5', '"1":6'));
    expect(s.load()).toMatchObject({ problem: 'CRC mismatch', progress: { levels: {} } });
    fs.writeFileSync(file, '{"crc":1,"da');
    expect(s.load().problem).toMatch(/^damaged/);
    fs.writeFileSync(file, '{"crc":0,"data":{"version":2}}');
    expect(s.load().problem).toBeDefined();
  });
});

describe('timer bookkeeping', () => {
  it('OffsetBitmap: low advances over consecutive done offsets; state survives serialisation', () => {
    const b = new OffsetBitmap();
    for (const o of [3, 1, 5, 0]) b.set(o);
    expect(b.low).toBe(2);
    expect([0, 1, 2, 3, 4, 5, 6].map((o) => b.has(o))).toEqual([true, true, false, true, false, true, false]);
    const j = b.toJSON();
    const c = OffsetBitmap.fromBase64(j.low, j.origin, j.bits);
    expect([2, 3, 4, 5].map((o) => c.has(o))).toEqual([false, true, false, true]);
    c.set(2);
    c.set(4);
    expect(c.low).toBe(6);
    expect(c.countAboveLow()).toBe(0);
    const big = new OffsetBitmap();
    for (let o = 100_000; o > 0; o--) big.set(o);
    big.set(0);
    expect(big.low).toBe(100_001);
    expect(big.toJSON().bits.length).toBeLessThan(100);
  });

  it('DueBuffer keeps the earliest entries within capacity and remembers the earliest left out', () => {
    const d = new DueBuffer(3);
    for (const [due, q] of [[50, 0], [10, 1], [40, 2], [30, 3], [20, 4]] as const) d.offer({ due, queueOffset: q, commitLogOffset: q });
    expect(d.size).toBe(3);
    expect(d.overflowDue).toBe(40);
    d.offer({ due: 45, queueOffset: 5, commitLogOffset: 5 });
    expect(d.size).toBe(3);
    expect(d.takeDue(25, 10).map((e) => e.due)).toEqual([10, 20]);
    expect(d.takeDue(100, 10).map((e) => e.due)).toEqual([30]);
    expect(d.nextDue).toBe(40);
  });
});

describe('delivery services on a real store', () => {
  it('a delay level delivers each message once, not before storeTimestamp + delay, DELAY/REAL_* removed', async () => {
    const store = await openStore();
    service(store).start(true);
    for (let i = 0; i < 20; i++) await put(store, `k${i}`, { DELAY: String((i % 3) + 1) });
    await sleep(600);
    const real = realMessages(store);
    expect(real.map((m) => m.properties.KEYS).sort()).toEqual([...Array(20).keys()].map((i) => `k${i}`).sort());
    const scheduled = decodeMessages(Buffer.concat([0, 1, 2].flatMap((q) => store.getMessage('SCHEDULE_TOPIC_XXXX', q, 0, 100).messages)));
    for (const m of real) {
      const s = scheduled.find((x) => x.properties.KEYS === m.properties.KEYS)!;
      expect(m.storeTimestamp).toBeGreaterThanOrEqual(s.storeTimestamp + LEVELS[Number(s.properties.DELAY) - 1]!);
      expect(m.properties.DELAY).toBeUndefined();
      expect(m.properties.REAL_TOPIC).toBeUndefined();
      expect(m.properties.REAL_QID).toBeUndefined();
    }
  });

  it('timer messages in a buffer of 4 entries: due order, never early, each exactly once across a stop/start', async () => {
    const store = await openStore();
    let svc = service(store, 4);
    svc.start(true);
    const base = Date.now() + 300;
    const dues = [...Array(40).keys()].map((i) => base + ((i * 7919) % 40) * 25);
    for (const [i, due] of dues.entries()) await put(store, `t${i}`, { TIMER_DELIVER_MS: String(due) });
    expect(svc.timerStats().pendingCount).toBe(40);
    await sleep(base + 500 - Date.now());
    // Stop half way and start again on the same progress file.
    await svc.stop();
    const before = realMessages(store).length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(40);
    svc = service(store, 4);
    svc.start(true);
    await sleep(base + 40 * 25 + 300 - Date.now());
    const real = realMessages(store);
    expect(real.map((m) => m.properties.KEYS).sort()).toEqual(dues.map((_, i) => `t${i}`).sort());
    const deliveredDues = real.map((m) => Number(m.properties.TIMER_OUT_MS));
    expect(deliveredDues).toEqual([...deliveredDues].sort((a, b) => a - b));
    for (const m of real) expect(m.storeTimestamp).toBeGreaterThanOrEqual(Number(m.properties.TIMER_OUT_MS));
    expect(svc.timerStats()).toMatchObject({ pendingCount: 0, nextDueTime: null });
  });

  it('without saved progress (a crash before the save) delivery repeats: at least once, never lost', async () => {
    const store = await openStore();
    const svc = service(store);
    svc.start(true);
    for (let i = 0; i < 5; i++) await put(store, `c${i}`, { DELAY: '1' });
    await sleep(300);
    await svc.stop();
    expect(realMessages(store)).toHaveLength(5);
    fs.rmSync(path.join(dir, DELAY_OFFSETS_FILE));
    service(store).start(true);
    await sleep(200);
    const keys = realMessages(store).map((m) => m.properties.KEYS);
    expect(keys).toHaveLength(10);
    expect(new Set(keys).size).toBe(5);
  });

  it('a slave (deliver=false) loads offsets for stats but delivers nothing', async () => {
    const store = await openStore();
    const svc = service(store);
    svc.start(false);
    await put(store, 's0', { DELAY: '1' });
    await sleep(300);
    expect(realMessages(store)).toHaveLength(0);
    expect(svc.levelStats()[0]).toMatchObject({ level: 1, delayMs: 100, pendingCount: 1 });
    expect(svc.offsetTable().entries).toEqual([[1, 0], [2, 0], [3, 0]]);
  });
});

describe('slave offsets', () => {
  it('a slave adopts its master\'s level offsets, serves and saves them; a master ignores them', async () => {
    const store = await openStore();
    const slave = service(store);
    slave.start(false);
    expect(slave.adoptOffsets({ 1: 4, 3: 2, 9: 7 })).toBe(true);
    expect(slave.offsetTable().entries).toEqual([[1, 4], [2, 0], [3, 2]]);
    expect(new DelayOffsetStore(dir).load().progress.levels).toEqual({ 1: 4, 2: 0, 3: 2 });
    const master = service(store);
    master.start(true);
    expect(master.offsetTable().entries).toEqual([[1, 4], [2, 0], [3, 2]]);
    expect(master.adoptOffsets({ 1: 0 })).toBe(false);
  });
});
