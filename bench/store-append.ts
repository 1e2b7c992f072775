/**
 * Append throughput of the message store: 200k puts of 1 KiB bodies with the properties a real
 * client sends (TAGS, KEYS, UNIQ_KEY), many in flight at once as a busy broker would have them.
 * Run: npx tsx bench/store-append.ts [count] [inFlight] [ASYNC|SYNC]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MessageStore, type MessageToStore } from '../src-main/broker/store/message-store.js';

const count = Number(process.argv[2] ?? 200_000);
const inFlight = Number(process.argv[3] ?? 1024);
const flushMode = (process.argv[4] ?? 'ASYNC') as 'ASYNC' | 'SYNC';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdesk-bench-store-'));
const store = new MessageStore({ storeDir: dir, storeHost: '127.0.0.1:10911', flushMode });
await store.open();
const body = Buffer.alloc(1024, 'x');
const bornTimestamp = Date.now();
const message = (i: number): MessageToStore => ({
  topic: 'BenchTopic',
  queueId: i & 7,
  flag: 0,
  body,
  properties: { TAGS: 'TagA', KEYS: `order-${i}`, UNIQ_KEY: `7F0000010001000000000000${i.toString(16).padStart(8, '0').toUpperCase()}`, WAIT: 'true' },
  sysFlag: 0,
  bornTimestamp,
  bornHost: '127.0.0.1:50000',
  reconsumeTimes: 0,
  preparedTransactionOffset: 0,
});

const rssBefore = process.memoryUsage().rss;
const started = process.hrtime.bigint();
let next = 0;
let failed = 0;
async function worker(): Promise<void> {
  while (next < count) {
    const r = await store.putMessage(message(next++));
    if (r.status !== 'PUT_OK') failed++;
  }
}
await Promise.all(Array.from({ length: inFlight }, worker));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const rssAfter = process.memoryUsage().rss;
const stats = store.stats();
await store.close();
fs.rmSync(dir, { recursive: true, force: true });

console.log(
  `${count} puts of 1 KiB (${flushMode}, ${inFlight} in flight): ${(count / seconds).toFixed(0)} appends/s, ` +
    `${(stats.commitLogMaxOffset / seconds / 1024 / 1024).toFixed(1)} MiB/s, ${seconds.toFixed(2)} s, failed ${failed}, ` +
    `RSS +${((rssAfter - rssBefore) / 1024 / 1024).toFixed(1)} MiB`,
);
