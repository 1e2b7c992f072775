/** Shared pieces of the crash tests: seeded randomness, a message workload, reading a store back. */
import fs from 'node:fs';
import { MessageStore, type MessageToStore } from '../../src-main/broker/store/message-store.js';

/** mulberry32: small, fast, good enough for choosing crash points and bits. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** SEED=n replays a run; otherwise a fresh seed (printed by the caller). */
export function seedFromEnv(): number {
  const s = process.env.SEED;
  if (s !== undefined && s !== '') {
    const n = Number(s);
    if (!Number.isInteger(n)) throw new Error(`SEED must be an integer, got ${s}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

export function intIn(rng: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Message i of a workload: its id is in the body, the KEYS and the UNIQ_KEY. */
export function workloadMessage(i: number, rng: () => number, topics: string[], queues: number): MessageToStore {
  const bodyLength = intIn(rng, 16, 700);
  const body = Buffer.alloc(bodyLength);
  body.write(`m-${i}:`, 'latin1');
  for (let k = 12; k < bodyLength; k++) body[k] = Math.floor(rng() * 256);
  return {
    topic: topics[i % topics.length] as string,
    queueId: Math.floor(i / topics.length) % queues,
    flag: 0,
    body,
    properties: { TAGS: `tag${i % 3}`, KEYS: `key-${i}`, UNIQ_KEY: `UNIQ${String(i).padStart(12, '0')}` },
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_000 + i,
    bornHost: '127.0.0.1:50000',
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

/** Every record a consumer gets from (topic, queueId), from offset 0, through getMessage. */
export function pullAll(store: MessageStore, topic: string, queueId: number): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const r = store.getMessage(topic, queueId, offset, 32);
    out.push(...r.messages);
    if (offset >= r.maxOffset) break;
    offset = r.nextBeginOffset > offset ? r.nextBeginOffset : offset + 1;
  }
  return out;
}

/** Silences console.error / console.warn (expected noise: a dead store logging its failures). */
export function muteConsole(): () => void {
  const error = console.error;
  const warn = console.warn;
  console.error = () => undefined;
  console.warn = () => undefined;
  return () => {
    console.error = error;
    console.warn = warn;
  };
}

export function flipBit(file: string, byteInFile: number, bit: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, byteInFile);
    b.writeUInt8(b.readUInt8(0) ^ (1 << bit), 0);
    fs.writeSync(fd, b, 0, 1, byteInFile);
  } finally {
    fs.closeSync(fd);
  }
}
