/**
 * NeDB metadata across crashes: a torn last line (every cut point of an append, and a zero-filled
 * tail) loads as the old or the new value and is reported; a damaged line anywhere else refuses
 * to load with the file and line named; a flip that still parses is caught by the line CRC;
 * kill -9 of a process writing as fast as it can always reloads, never behind an fsynced update.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetadataCorruptError, NedbTable, checkNedbFile } from '../../src-main/broker/metadata/nedb-table.js';
import { tempDir } from '../harness/temp-dir.js';
import { intIn, muteConsole, mulberry32, seedFromEnv } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

interface Value {
  v: number;
  note?: string;
}

let dir: { path: string; remove(): void };
beforeEach(() => {
  dir = tempDir('nedb-crash');
});
afterEach(() => {
  dir.remove();
});

async function loadValue(file: string): Promise<{ table: NedbTable<Value>; value: Value | undefined }> {
  const table = new NedbTable<Value>(file);
  await table.load();
  return { table, value: table.get('topic') };
}

/** A compacted file with topic = 1, then one appended (fsynced, not compacted) update topic = 2. */
async function fileWithAppend(file: string): Promise<{ bytes: Buffer; lastLineStart: number }> {
  const t1 = new NedbTable<Value>(file);
  await t1.load();
  void t1.put('other', { v: 0, note: 'unrelated' });
  await t1.put('topic', { v: 1 });
  await t1.close();
  const t2 = new NedbTable<Value>(file);
  await t2.load();
  await t2.put('topic', { v: 2, note: 'the update a crash tears' });
  const bytes = fs.readFileSync(file);
  const lastLineStart = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
  return { bytes, lastLineStart };
}

describe('NeDB metadata after a crash', () => {
  it('a torn last line (every cut point of the append): old or new value, the cut reported, never an error', async () => {
    const file = path.join(dir.path, 'topics.db');
    const { bytes, lastLineStart } = await fileWithAppend(file);
    const outcomes = { old: 0, new: 0, tornReported: 0 };
    const unmute = muteConsole();
    try {
      for (let cut = lastLineStart; cut <= bytes.length; cut++) {
        const copy = path.join(dir.path, `cut-${cut}.db`);
        fs.writeFileSync(copy, bytes.subarray(0, cut));
        const { table, value } = await loadValue(copy);
        expect(table.get('other')).toEqual({ v: 0, note: 'unrelated' });
        if (value?.v === 2) outcomes.new++;
        else if (value?.v === 1) outcomes.old++;
        else throw new Error(`cut at ${cut}: value ${JSON.stringify(value)}`);
        if (table.loadReport?.tornTail) outcomes.tornReported++;
        // A whole line, or nothing of it: the new value exactly when the line survived whole.
        expect(value.v).toBe(cut >= bytes.length - 1 ? 2 : 1);
        expect(Boolean(table.loadReport?.tornTail)).toBe(cut > lastLineStart && cut < bytes.length - 1);
        await table.close();
        // Loading again after the repair is clean.
        const again = await loadValue(copy);
        expect(again.table.loadReport?.tornTail).toBeUndefined();
        expect(again.value?.v).toBe(value.v);
      }
      // A file system that extended the file but never wrote the data: zeroes.
      const zeroed = path.join(dir.path, 'zeroed.db');
      fs.writeFileSync(zeroed, Buffer.concat([bytes.subarray(0, lastLineStart), Buffer.alloc(bytes.length - lastLineStart)]));
      const z = await loadValue(zeroed);
      expect(z.value?.v).toBe(1);
      expect(z.table.loadReport?.tornTail?.bytes).toBe(bytes.length - lastLineStart);
      expect(fs.readFileSync(z.table.loadReport?.tornTail?.keptIn as string).equals(Buffer.alloc(bytes.length - lastLineStart))).toBe(true);
    } finally {
      unmute();
    }
    console.log(`NeDB torn append, ${bytes.length - lastLineStart + 1} cut points: old value ${outcomes.old}, new value ${outcomes.new}, torn line cut and reported ${outcomes.tornReported}, load errors 0`);
  });

  it('refuses to load a damaged line that is not the last, naming the file and the line', async () => {
    const file = path.join(dir.path, 'groups.db');
    const t = new NedbTable<Value>(file);
    await t.load();
    for (let i = 0; i < 3; i++) await t.put(`g${i}`, { v: i });
    await t.close();
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[1] = (lines[1] as string).replace('"v":1', '"v":1,'); // no longer JSON
    fs.writeFileSync(file, lines.join('\n'));
    await expect(new NedbTable<Value>(file).load()).rejects.toThrow(MetadataCorruptError);
    await expect(new NedbTable<Value>(file).load()).rejects.toThrow(`${file}, line 2`);
  });

  it('catches a flipped bit that still parses (an offset 1234 → 3234) with the line CRC', async () => {
    const file = path.join(dir.path, 'consumer-offsets.db');
    const t = new NedbTable<Value>(file);
    await t.load();
    await t.put('TopicA@GroupA', { v: 1234 });
    await t.close();
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/\t[0-9a-f]{8}\n/);
    fs.writeFileSync(file, text.replace('1234', '3234'));
    const error = await new NedbTable<Value>(file).load().catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(MetadataCorruptError);
    expect((error as Error).message).toMatch(/line 1: line CRC mismatch/);
    // Every single-bit flip of that line is refused (none loads a different value).
    const clean = Buffer.from(text);
    let refused = 0;
    let flips = 0;
    for (let byte = 0; byte < clean.length - 1; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Buffer.from(clean);
        bad.writeUInt8(bad.readUInt8(byte) ^ (1 << bit), byte);
        if (bad.readUInt8(byte) === 0x0a) continue; // a new line break: two lines, both damaged → refused too, checked below
        flips++;
        fs.writeFileSync(file, bad);
        try {
          const r = checkNedbFile(file);
          // Only acceptable outcome besides a refusal: nothing lost (cannot happen for a flip).
          throw new Error(`flip at byte ${byte} bit ${bit} loaded: ${JSON.stringify(r)}`);
        } catch (e) {
          if (!(e instanceof MetadataCorruptError)) throw e;
          refused++;
        }
      }
    }
    console.log(`NeDB line CRC: ${refused} of ${flips} single-bit flips of a consumer-offset line refused at load`);
    expect(refused).toBe(flips);
  });

  it('loads lines written without a CRC (files from before) as they are', async () => {
    const file = path.join(dir.path, 'old.db');
    fs.writeFileSync(file, '{"_id":"a","value":{"v":1}}\n{"_id":"b","value":{"v":2}}\n');
    const t = new NedbTable<Value>(file);
    await t.load();
    expect(t.get('a')).toEqual({ v: 1 });
    expect(t.loadReport?.linesWithoutCrc).toBe(2);
    await t.close();
    expect(fs.readFileSync(file, 'utf8')).toMatch(/\t[0-9a-f]{8}\n/); // sealed at compaction
  });

  it('kill -9 while writing as fast as possible: always loads, never behind an acknowledged (fsynced) update', async () => {
    const seed = seedFromEnv();
    const rng = mulberry32(seed);
    const file = path.join(dir.path, 'kill.db');
    let next = 0;
    const results: string[] = [];
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'nedb-writer.ts'), file, String(next)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MQDESK_LOG: 'silent' } });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`writer did not start: ${err}`)), 30_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready')) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then(() => reject(new Error(`writer exited: ${err}`)));
      });
      await new Promise((r) => setTimeout(r, intIn(rng, 100, 600)));
      process.kill(child.pid as number, 'SIGKILL');
      await exited;
      const acked = [...out.matchAll(/^acked (\d+)$/gm)].map((m) => Number(m[1]));
      const lastAcked = acked.length ? (acked[acked.length - 1] as number) : next - 1;
      const t = new NedbTable<{ n: number }>(file);
      await t.load();
      const counter = t.get('counter')?.n ?? -1;
      results.push(`round ${round}: ${acked.length} acknowledged updates, last ${lastAcked}; reloaded counter ${counter}${t.loadReport?.tornTail ? `, torn tail of ${t.loadReport.tornTail.bytes} bytes cut` : ''}`);
      expect(counter).toBeGreaterThanOrEqual(lastAcked);
      next = counter + 1;
    }
    console.log(`NeDB kill -9 (seed ${seed}):\n  ${results.join('\n  ')}`);
  }, 120_000);
});
