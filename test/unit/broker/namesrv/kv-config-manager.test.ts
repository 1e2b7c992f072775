import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KvConfigManager } from '../../../../src-main/broker/namesrv/kv-config-manager.js';
import type { Logger } from '../../../../src-main/remoting/logger.js';

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('KvConfigManager', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mqdesk-kv-'));
    file = path.join(dir, 'kvConfig.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('persists in Java kvConfig.json form and reloads it', async () => {
    const kv = new KvConfigManager({ filePath: file, logger: silent });
    await kv.load();
    await Promise.all([kv.put('A', 'x', '1'), kv.put('A', 'y', '2'), kv.put('B', 'z', '3')]);
    expect(await kv.delete('B', 'z')).toBe(true);
    expect(await kv.delete('B', 'z')).toBe(false);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ configTable: { A: { x: '1', y: '2' } } });
    // No temp files left behind.
    expect(await readdir(dir)).toEqual(['kvConfig.json']);

    const again = new KvConfigManager({ filePath: file, logger: silent });
    await again.load();
    expect(again.get('A', 'y')).toBe('2');
    expect(again.getKVListByNamespace('A')).toEqual({ x: '1', y: '2' });
    expect(again.getKVListByNamespace('B')).toBeUndefined();
  });

  it('moves an unreadable file aside and starts empty', async () => {
    await writeFile(file, '{"configTable": {broken');
    const kv = new KvConfigManager({ filePath: file, logger: silent });
    await kv.load();
    expect(kv.namespaces()).toEqual([]);
    const names = await readdir(dir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^kvConfig\.json\.corrupt-\d+$/);
    await kv.put('A', 'x', '1');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ configTable: { A: { x: '1' } } });
  });

  it('works in memory without a file', async () => {
    const kv = new KvConfigManager({ logger: silent });
    await kv.load();
    await kv.put('A', 'x', '1');
    expect(kv.get('A', 'x')).toBe('1');
  });
});
