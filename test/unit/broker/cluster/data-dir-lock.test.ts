import { writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, lockDataDir } from '../../../../src-main/broker/cluster/data-dir-lock.js';
import { tempDir } from '../../../harness/temp-dir.js';

describe('data directory lock', () => {
  const dirs: Array<{ remove(): void }> = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

  it('refuses a second cluster on the same directory until the first releases it', () => {
    const dir = tempDir('lock');
    dirs.push(dir);
    const release = lockDataDir(dir.path);
    expect(() => lockDataDir(dir.path)).toThrow(DataDirLockedError);
    release();
    expect(existsSync(path.join(dir.path, '.lock'))).toBe(false);
    lockDataDir(dir.path)();
  });

  it('refuses a directory held by another live process', () => {
    const dir = tempDir('lock');
    dirs.push(dir);
    writeFileSync(path.join(dir.path, '.lock'), `${process.ppid}\n`);
    expect(() => lockDataDir(dir.path)).toThrow(/in use by another MQDesk cluster \(pid \d+\)/);
  });

  it('takes over a stale lock left by a killed process', () => {
    const dir = tempDir('lock');
    dirs.push(dir);
    // Pids are below 2^22 on Linux; this one cannot be alive.
    writeFileSync(path.join(dir.path, '.lock'), '99999999\n');
    const release = lockDataDir(dir.path);
    release();
  });
});
