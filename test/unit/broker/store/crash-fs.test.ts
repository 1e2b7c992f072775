import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CrashFS } from '../../../../src-main/broker/store/io/crash-fs.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdesk-crashfs-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(io: CrashFS, fd: number, text: string, position: number): void {
  const b = Buffer.from(text);
  io.writeSync(fd, b, 0, b.length, position);
}

describe('CrashFS', () => {
  it('passes reads and writes through while alive', () => {
    const io = new CrashFS();
    const p = path.join(dir, 'f');
    const fd = io.openSync(p, 'w+');
    write(io, fd, 'hello', 0);
    const b = Buffer.alloc(5);
    io.readSync(fd, b, 0, 5, 0);
    expect(b.toString()).toBe('hello');
    expect(fs.readFileSync(p, 'utf8')).toBe('hello');
    io.closeSync(fd);
  });

  it("keeps only fsynced data on a crash ('none'), everything on 'all'", async () => {
    for (const mode of ['none', 'all'] as const) {
      const io = new CrashFS();
      const p = path.join(dir, `f-${mode}`);
      const fd = io.openSync(p, 'w+');
      write(io, fd, 'durable|', 0);
      await io.fdatasync(fd);
      write(io, fd, 'lost?', 8);
      io.ftruncateSync(fd, 10);
      const report = io.crash({ keepUnsynced: mode });
      expect(report.files[0]).toMatchObject({ path: p, syncedBytes: 8, unsyncedOps: 2 });
      expect(fs.readFileSync(p, 'utf8')).toBe(mode === 'none' ? 'durable|' : 'durable|lo');
    }
  });

  it('a fsync covers only what was written before it was called', async () => {
    const io = new CrashFS();
    const p = path.join(dir, 'f');
    const fd = io.openSync(p, 'w+');
    write(io, fd, 'aaaa', 0);
    const sync = io.fdatasync(fd);
    write(io, fd, 'bbbb', 4); // during the fsync
    await sync;
    io.crash({ keepUnsynced: 'none' });
    expect(fs.readFileSync(p, 'utf8')).toBe('aaaa');
  });

  it("keeps a random prefix of unsynced writes ('random'), possibly tearing the next one", () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const io = new CrashFS();
      const p = path.join(dir, `r${seed}`);
      fs.writeFileSync(p, ''); // existed before: durable (empty)
      const fd = io.openSync(p, 'r+');
      write(io, fd, 'AAAA', 0);
      write(io, fd, 'BBBB', 4);
      let x = seed * 7919 + 1;
      io.crash({ keepUnsynced: 'random', rng: () => ((x = (x * 48271) % 2147483647) / 2147483647) });
      const got = fs.readFileSync(p, 'utf8');
      expect('AAAABBBB'.startsWith(got)).toBe(true); // a prefix, in order
      seen.add(got);
    }
    expect(seen.has('')).toBe(true);
    expect(seen.has('AAAABBBB')).toBe(true);
    expect([...seen].some((s) => s.length % 4 !== 0)).toBe(true); // torn
  });

  it('a new file never fsynced may vanish; renames carry the synced content', async () => {
    const io = new CrashFS();
    const tmp = path.join(dir, 'cp.tmp');
    const target = path.join(dir, 'cp');
    const fd = io.openSync(tmp, 'w');
    write(io, fd, 'v1', 0);
    io.fsyncSync(fd);
    io.closeSync(fd);
    io.renameSync(tmp, target);
    const fresh = path.join(dir, 'fresh');
    const fd2 = io.openSync(fresh, 'w+');
    write(io, fd2, 'never synced', 0);
    io.crash({ keepUnsynced: 'none' });
    expect(fs.readFileSync(target, 'utf8')).toBe('v1');
    expect(fs.existsSync(fresh)).toBe(false);
  });

  it('is dead after the crash: calls throw EIO, fsyncs in flight fail, close is a no-op', async () => {
    const io = new CrashFS();
    const fd = io.openSync(path.join(dir, 'f'), 'w+');
    write(io, fd, 'x', 0);
    const inFlight = io.fdatasync(fd);
    io.crash({ keepUnsynced: 'none' });
    await expect(inFlight).rejects.toMatchObject({ code: 'EIO' });
    expect(() => write(io, fd, 'y', 1)).toThrow(/EIO/);
    expect(() => io.closeSync(fd)).not.toThrow();
  });
});
