import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CQ_STORE_UNIT_SIZE, ConsumeQueue, FileDescriptorCache } from '../../../../src-main/broker/store/consume-queue.js';

const PER_FILE = 10;
let root: string;
let fds: FileDescriptorCache;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdesk-cq-'));
  fds = new FileDescriptorCache(4); // small, so descriptor eviction is exercised
});
afterEach(() => {
  fds.closeAll();
  fs.rmSync(root, { recursive: true, force: true });
});

function queue(topic = 'TopicA', queueId = 0): ConsumeQueue {
  const cq = new ConsumeQueue({ rootDir: root, topic, queueId, entriesPerFile: PER_FILE, fds });
  cq.load();
  return cq;
}

/** Record i lives at commitlog offset 1000 * i, 100 bytes, tag code i - 5 (negatives too). */
function fill(cq: ConsumeQueue, from: number, to: number): void {
  for (let i = from; i < to; i++) expect(cq.put(i, 1000 * i, 100, i - 5)).toBe('APPENDED');
  expect(cq.commit()).toBeNull();
}

describe('ConsumeQueue', () => {
  it('appends 20-byte entries into files named by their start byte offset', () => {
    const cq = queue();
    fill(cq, 0, 25);
    expect(cq.minOffset).toBe(0);
    expect(cq.maxOffset).toBe(25);
    const dir = path.join(root, 'TopicA', '0');
    expect(fs.readdirSync(dir).sort()).toEqual(['00000000000000000000', '00000000000000000200', '00000000000000000400']);
    expect(fs.statSync(path.join(dir, '00000000000000000400')).size).toBe(5 * CQ_STORE_UNIT_SIZE);
    const raw = fs.readFileSync(path.join(dir, '00000000000000000200'));
    expect(raw.readBigInt64BE(0)).toBe(10_000n); // entry 10: commitlog offset
    expect(raw.readInt32BE(8)).toBe(100);
    expect(raw.readBigInt64BE(12)).toBe(5n);
  });

  it('reads ranges across files, clamped to [min, max)', () => {
    const cq = queue();
    fill(cq, 0, 25);
    const entries = cq.read(8, 5);
    expect(entries.map((e) => [e.queueOffset, e.commitLogOffset, e.size, e.tagsCode])).toEqual([
      [8, 8000, 100, 3],
      [9, 9000, 100, 4],
      [10, 10000, 100, 5],
      [11, 11000, 100, 6],
      [12, 12000, 100, 7],
    ]);
    expect(cq.read(0, 1)[0]!.tagsCode).toBe(-5);
    expect(cq.read(23, 10).map((e) => e.queueOffset)).toEqual([23, 24]);
    expect(cq.read(25, 10)).toEqual([]);
    expect(cq.readEntry(30)).toBeNull();
  });

  it('serves entries not yet committed from memory', () => {
    const cq = queue();
    cq.put(0, 0, 10, 1);
    cq.put(1, 10, 10, 2);
    expect(cq.hasPending).toBe(true);
    expect(cq.read(0, 5).map((e) => e.commitLogOffset)).toEqual([0, 10]);
    expect(cq.commit()).toBeNull();
    expect(cq.hasPending).toBe(false);
  });

  it('keeps min and max offsets across a reload, and only those in memory', () => {
    fill(queue(), 0, 23);
    const again = queue();
    expect([again.minOffset, again.maxOffset, again.maxPhysicOffset]).toEqual([0, 23, 22_100]);
    expect(again.readEntry(17)!.commitLogOffset).toBe(17_000);
  });

  it('cuts a partial entry and trailing zero entries from the tail on load', () => {
    fill(queue(), 0, 13);
    const last = path.join(root, 'TopicA', '0', '00000000000000000200');
    fs.appendFileSync(last, Buffer.alloc(CQ_STORE_UNIT_SIZE * 2)); // two zero entries
    fs.appendFileSync(last, Buffer.from([1, 2, 3])); // a torn entry
    const again = new ConsumeQueue({ rootDir: root, topic: 'TopicA', queueId: 0, entriesPerFile: PER_FILE, fds });
    expect(again.load().truncatedBytes).toBe(CQ_STORE_UNIT_SIZE * 2 + 3);
    expect(again.maxOffset).toBe(13);
  });

  it('skips entries it already has, and with verification repairs a differing one', () => {
    const cq = queue();
    fill(cq, 0, 5);
    expect(cq.put(2, 2000, 100, -3)).toBe('DUPLICATE');
    expect(cq.put(2, 2000, 100, -3, true)).toBe('DUPLICATE');
    expect(cq.put(2, 2222, 100, -3, true)).toBe('REPAIRED');
    expect(cq.readEntry(2)!.commitLogOffset).toBe(2222);
    expect(cq.maxOffset).toBe(5);
  });

  it('starts after 0 when the first entry it sees is later, and finds that start after a reload', () => {
    const cq = queue();
    expect(cq.put(13, 500, 50, 0)).toBe('APPENDED');
    cq.put(14, 550, 50, 0);
    cq.commit();
    expect([cq.minOffset, cq.maxOffset]).toEqual([13, 15]);
    const again = queue();
    expect([again.minOffset, again.maxOffset]).toEqual([13, 15]);
    expect(again.read(0, 10).map((e) => e.queueOffset)).toEqual([13, 14]);
  });

  it('leaves holes (size 0) for a gap', () => {
    const cq = queue();
    fill(cq, 0, 3);
    expect(cq.put(6, 6000, 100, 0)).toBe('GAP');
    cq.commit();
    expect(cq.read(0, 10).map((e) => e.size)).toEqual([100, 100, 100, 0, 0, 0, 100]);
  });

  it('drops entries whose records are past a truncated commitlog end', () => {
    const cq = queue();
    fill(cq, 0, 25);
    expect(cq.truncateDirty(25_000)).toBe(0);
    expect(cq.truncateDirty(12_050)).toBe(13); // record 12 ends at 12_100: 12..24 go, 0..11 stay
    expect(cq.maxOffset).toBe(12);
    expect(cq.maxPhysicOffset).toBe(11_100);
    const again = queue();
    expect(again.maxOffset).toBe(12);
    expect(fs.readdirSync(path.join(root, 'TopicA', '0')).sort()).toEqual(['00000000000000000000', '00000000000000000200']);
    expect(again.truncateDirty(0)).toBe(12);
    expect([again.minOffset, again.maxOffset]).toEqual([0, 0]);
  });

  it('finds the first offset stored at or after a time', () => {
    const cq = queue();
    fill(cq, 0, 25);
    // Record i was stored at time 100 * i (records 10-12 share a time).
    const timeOf = (phy: number): number => {
      const i = phy / 1000;
      return i >= 10 && i <= 12 ? 1000 : 100 * i;
    };
    expect(cq.offsetByTime(0, timeOf)).toBe(0);
    expect(cq.offsetByTime(-5, timeOf)).toBe(0);
    expect(cq.offsetByTime(1000, timeOf)).toBe(10);
    expect(cq.offsetByTime(1001, timeOf)).toBe(13);
    expect(cq.offsetByTime(550, timeOf)).toBe(6);
    expect(cq.offsetByTime(2400, timeOf)).toBe(24);
    expect(cq.offsetByTime(99_999, timeOf)).toBe(25);
  });

  it('deletes its files', async () => {
    const cq = queue('Gone', 3);
    fill(cq, 0, 12);
    await cq.flush();
    cq.destroy();
    expect(fs.existsSync(path.join(root, 'Gone', '3'))).toBe(false);
    expect(cq.maxOffset).toBe(0);
  });

  it('rejects files that do not match the configured entries per file', () => {
    fill(queue(), 0, 12);
    const other = new ConsumeQueue({ rootDir: root, topic: 'TopicA', queueId: 0, entriesPerFile: 7, fds });
    expect(() => other.load()).toThrow(/entries per file/);
  });
});
