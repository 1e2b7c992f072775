/** Every message key exists in both languages, and every key the renderer uses exists. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../../src-renderer/src');
const en = JSON.parse(readFileSync(path.join(root, 'locales/en.json'), 'utf8')) as Record<string, string>;
const zh = JSON.parse(readFileSync(path.join(root, 'locales/zh-CN.json'), 'utf8')) as Record<string, string>;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(vue|ts)$/.test(name) ? [p] : [];
  });
}

describe('locales', () => {
  it('en and zh-CN have the same keys', () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
  });

  it('no message is empty, and placeholders match across languages', () => {
    for (const [key, value] of Object.entries(en)) {
      expect(value.trim(), key).not.toBe('');
      expect(zh[key]!.trim(), key).not.toBe('');
      const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(names(zh[key]!), key).toEqual(names(value));
    }
  });

  it('every literal t("…") key used in the renderer exists', () => {
    const used = new Set<string>();
    for (const file of sources(root)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(100);
    expect([...used].filter((k) => !(k in en))).toEqual([]);
  });

  it('dynamic keys exist: topic kinds, connection states, host modes', () => {
    for (const k of ['NORMAL', 'RETRY', 'DLQ', 'SYSTEM']) expect(en[`topics.kinds.${k}`]).toBeDefined();
    for (const k of ['connecting', 'connected', 'disconnected', 'ipc', 'ws']) expect(en[`connection.${k}`]).toBeDefined();
    for (const k of ['electron', 'headless']) expect(en[`settings.modes.${k}`]).toBeDefined();
  });
});
