/** Safe export writing (reliability-security.md §8.4): temp beside the target, fsync, rename; abort leaves nothing. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafeFileWriter, sanitizeFileName } from '../../../../src-main/console/ops/safe-file.js';
import { contentDisposition } from '../../../../src-main/server/http-server.js';
import { tempDir } from '../../../harness/temp-dir.js';

const dir = tempDir('safe-file');
afterAll(() => dir.remove());

describe('SafeFileWriter', () => {
  it('writes to a hidden temp file, then renames onto the target on commit', async () => {
    const target = path.join(dir.path, 'out.jsonl');
    const w = new SafeFileWriter(target);
    expect(path.basename(w.tempPath)).toMatch(/^\.out\.jsonl\.tmp-[0-9a-f]{12}$/);
    expect(path.dirname(w.tempPath)).toBe(dir.path);
    for (let i = 0; i < 5000; i++) await w.write(`{"n":${i}}\n`);
    expect(existsSync(target)).toBe(false);
    await w.commit();
    expect(existsSync(w.tempPath)).toBe(false);
    const lines = readFileSync(target, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(5000);
    expect(w.bytes).toBe(readFileSync(target).length);
  });

  it('abort deletes the temp file and leaves an existing target as it was', async () => {
    const target = path.join(dir.path, 'keep.csv');
    writeFileSync(target, 'old');
    const w = new SafeFileWriter(target);
    await w.write('new content');
    await w.abort();
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(readdirSync(dir.path).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('commit replaces an existing target whole', async () => {
    const target = path.join(dir.path, 'replace.csv');
    writeFileSync(target, 'old old old');
    const w = new SafeFileWriter(target);
    await w.write('fresh');
    await w.commit();
    expect(readFileSync(target, 'utf8')).toBe('fresh');
  });
});

describe('file names offered to a user', () => {
  it('sanitizeFileName drops separators, control characters and leading dots, and caps the length', () => {
    expect(sanitizeFileName('dlq-%DLQ%G|x.jsonl')).toBe('dlq-_DLQ_G_x.jsonl');
    expect(sanitizeFileName('../../etc/passwd')).toBe('_.._etc_passwd');
    expect(sanitizeFileName('..\\..\\win.ini')).toBe('_.._win.ini');
    expect(sanitizeFileName('a\u0000b\nc.csv')).toBe('a_b_c.csv');
    expect(sanitizeFileName('...')).toBe('export');
    const long = sanitizeFileName(`${'x'.repeat(300)}.jsonl`);
    expect(long.length).toBe(120);
    expect(long.endsWith('.jsonl')).toBe(true);
  });

  it('contentDisposition gives an ASCII fallback and the UTF-8 name (RFC 6266)', () => {
    expect(contentDisposition('dlq-G-1.csv')).toBe(`attachment; filename="dlq-G-1.csv"; filename*=UTF-8''dlq-G-1.csv`);
    expect(contentDisposition('死信 "x".jsonl')).toBe(`attachment; filename="__ _x_.jsonl"; filename*=UTF-8''%E6%AD%BB%E4%BF%A1%20%22x%22.jsonl`);
  });
});
