import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INDEX_HEADER_SIZE, IndexService, indexFileSize, indexKeyHash } from '../../../../src-main/broker/store/index-file.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdesk-index-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function service(maxEntries = 1000, slotNum = 64): IndexService {
  return new IndexService({ dir, slotNum, maxEntries });
}

function query(s: IndexService, topic: string, key: string, begin = 0, end = Number.MAX_SAFE_INTEGER): number[] {
  const out: number[] = [];
  s.queryOffsets(topic, key, begin, end, (phy) => {
    out.push(phy);
    return true;
  });
  return out;
}

const T0 = 1_700_000_000_000;

describe('IndexService', () => {
  it('finds commitlog offsets by key and by unique key, newest first', () => {
    const s = service();
    s.load(true, 0);
    for (let i = 0; i < 50; i++) s.buildIndex('TopicA', `UNIQ${i}`, `order-${i % 5} all`, i * 100, T0 + i);
    expect(query(s, 'TopicA', 'UNIQ7')).toEqual([700]);
    expect(query(s, 'TopicA', 'order-3')).toEqual([4800, 4300, 3800, 3300, 2800, 2300, 1800, 1300, 800, 300]);
    expect(query(s, 'TopicA', 'all')).toHaveLength(50);
    expect(query(s, 'TopicB', 'order-3')).toEqual([]);
    expect(query(s, 'TopicA', 'nothing')).toEqual([]);
  });

  it('stops when the visitor says so', () => {
    const s = service();
    s.load(true, 0);
    for (let i = 0; i < 10; i++) s.buildIndex('T', undefined, 'k', i, T0);
    const seen: number[] = [];
    s.queryOffsets('T', 'k', 0, T0 + 1, (phy) => {
      seen.push(phy);
      return seen.length < 3;
    });
    expect(seen).toEqual([9, 8, 7]);
  });

  it('ignores records it has already indexed', () => {
    const s = service();
    s.load(true, 0);
    s.buildIndex('T', 'U1', undefined, 100, T0);
    s.buildIndex('T', 'U1', undefined, 100, T0);
    s.buildIndex('T', 'U1', undefined, 50, T0);
    expect(query(s, 'T', 'U1')).toEqual([100]);
  });

  it('filters by store time range (second granularity)', () => {
    const s = service();
    s.load(true, 0);
    for (let i = 0; i < 10; i++) s.buildIndex('T', undefined, 'k', i * 10, T0 + i * 60_000); // one a minute
    expect(query(s, 'T', 'k', T0 + 3 * 60_000, T0 + 5 * 60_000)).toEqual([50, 40, 30]);
    expect(query(s, 'T', 'k', T0 + 20 * 60_000, T0 + 30 * 60_000)).toEqual([]);
    expect(query(s, 'T', 'k', 0, T0 - 1)).toEqual([]);
  });

  it('rotates to a new file when full and queries across files', () => {
    const s = service(10);
    s.load(true, 0);
    for (let i = 0; i < 40; i++) s.buildIndex('T', undefined, i % 2 ? 'odd' : 'even', i, T0 + i * 1000);
    s.flushSync();
    const names = fs.readdirSync(dir).sort();
    expect(names.length).toBe(Math.ceil(40 / 9)); // entry 0 of each file is unused
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(fs.statSync(path.join(dir, n)).size).toBe(indexFileSize(64, 10));
    expect(query(s, 'T', 'odd')).toEqual([39, 37, 35, 33, 31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1]);
    expect(query(s, 'T', 'even', T0 + 10_000, T0 + 20_000)).toEqual([20, 18, 16, 14, 12, 10]);
  });

  it('reads everything back after a clean reopen', () => {
    const s = service(10);
    s.load(true, 0);
    for (let i = 0; i < 25; i++) s.buildIndex('T', `U${i}`, undefined, i * 7, T0 + i);
    s.flushSync();
    const again = service(10);
    const report = again.load(true, 25 * 7);
    expect(report.deletedFiles).toEqual([]);
    expect(report.resumeFrom).toBeNull();
    expect(again.lastIndexedOffset).toBe(24 * 7);
    for (let i = 0; i < 25; i++) expect(query(again, 'T', `U${i}`)).toEqual([i * 7]);
    again.buildIndex('T', 'U99', undefined, 1000, T0 + 99);
    expect(query(again, 'T', 'U99')).toEqual([1000]);
  });

  it('after an abnormal stop keeps only full files below the checkpoint and says where to re-index', () => {
    const s = service(10);
    s.load(true, 0);
    for (let i = 0; i < 25; i++) s.buildIndex('T', `U${i}`, undefined, i * 10, T0 + i);
    s.flushSync();
    const files = fs.readdirSync(dir).sort();
    expect(files).toHaveLength(3); // 9 + 9 + 7 entries
    const again = service(10);
    const report = again.load(false, 200); // checkpoint covers records below offset 200
    expect(report.deletedFiles.map((f) => f.name)).toEqual([files[2]]);
    expect(report.resumeFrom).toBe(170); // last record of the second file
    expect(query(again, 'T', 'U17')).toEqual([170]);
    expect(query(again, 'T', 'U20')).toEqual([]);
    // Re-indexing from there fills the gap without duplicates.
    for (let i = 17; i < 25; i++) again.buildIndex('T', `U${i}`, undefined, i * 10, T0 + i);
    expect(query(again, 'T', 'U17')).toEqual([170]);
    expect(query(again, 'T', 'U20')).toEqual([200]);
  });

  it('drops a file whose size does not match the configuration', () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '20240101000000000'), Buffer.alloc(INDEX_HEADER_SIZE));
    const s = service();
    const report = s.load(true, 0);
    expect(report.deletedFiles).toHaveLength(1);
    expect(report.resumeFrom).toBe(-1);
  });

  it('creates sparse files', () => {
    const s = new IndexService({ dir, slotNum: 100_000, maxEntries: 400_000 });
    s.load(true, 0);
    s.buildIndex('T', 'U', 'k', 0, T0);
    s.flushSync();
    const [name] = fs.readdirSync(dir);
    const st = fs.statSync(path.join(dir, name!));
    expect(st.size).toBe(indexFileSize(100_000, 400_000));
    if (process.platform === 'linux') expect(st.blocks * 512).toBeLessThan(st.size / 4);
  });

  it('hashes keys like IndexFile#indexKeyHashMethod', () => {
    expect(indexKeyHash('TopicTest#key')).toBe(85128477);
    expect(indexKeyHash('polygenelubricants')).toBe(0); // |Integer.MIN_VALUE| stays negative in Java → 0
    expect(indexKeyHash('hello')).toBe(99162322);
  });
});
