/**
 * `npm run build` (electron-vite build) produces the three bundles: the ESM main process, the
 * sandboxed preload as one CommonJS file that requires nothing but `electron`, and the renderer
 * with its CSP. Built into a temporary folder (MQDESK_BUILD_OUT) so out/, which the headless
 * console and the browser test serve, is left alone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { tempDir } from '../harness/temp-dir.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const dir = tempDir('build');
afterAll(() => dir.remove());

describe('npm run build', () => {
  it('produces the main, preload and renderer bundles', () => {
    const pkg = require.resolve('electron-vite/package.json');
    const cli = path.join(path.dirname(pkg), (require(pkg) as { bin: Record<string, string> }).bin['electron-vite']!);
    const run = spawnSync(process.execPath, [cli, 'build'], {
      cwd: ROOT, encoding: 'utf8', timeout: 170_000, env: { ...process.env, MQDESK_BUILD_OUT: dir.path },
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect((JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['build']).toBe('electron-vite build');

    // Main: ESM, imports electron, points the window at the .cjs preload and app://console.
    const main = readFileSync(path.join(dir.path, 'main/index.js'), 'utf8');
    expect(main).toMatch(/^import .* from "electron";/m);
    expect(main).toContain('preload/index.cjs');
    expect(main).toContain('sandbox: true');
    expect(main).toContain('contextIsolation: true');

    // Preload: CommonJS, one file, nothing required but electron (a sandboxed preload can require nothing else).
    const preload = readFileSync(path.join(dir.path, 'preload/index.cjs'), 'utf8');
    expect([...new Set([...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))]).toEqual(['electron']);
    expect(preload).not.toMatch(/^\s*(import|export)\s/m);
    expect(preload).toContain('exposeInMainWorld');
    expect(readdirSync(path.join(dir.path, 'preload'))).toEqual(['index.cjs']);

    // Renderer: index.html with the CSP and its hashed script; no Electron API in the page.
    const html = readFileSync(path.join(dir.path, 'renderer/index.html'), 'utf8');
    expect(html).toContain(`script-src 'self'`);
    expect(html).not.toContain('unsafe-eval');
    const script = /src="\.\/assets\/([^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const bundle = readFileSync(path.join(dir.path, 'renderer/assets', script!), 'utf8');
    expect(bundle).not.toContain('ipcRenderer');
  }, 180_000);
});
