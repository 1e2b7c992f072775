/**
 * Electronegativity (@doyensec/electronegativity) over the Electron main process, preload and the
 * renderer's HTML, gated on a reviewed baseline. The tool exits 0 whatever it finds, so its SARIF
 * report is parsed: a finding whose rule and file are not in electronegativity-baseline.json fails,
 * and so does a baseline entry nothing reports any more. It parses .js/.ts/.html but not .vue, so
 * the scan is over a staged copy of src-main/app and src-renderer/index.html.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { tempDir } from '../harness/temp-dir.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const dir = tempDir('electronegativity');

interface Baseline {
  accepted: Array<{ rule: string; file: string; reason: string }>;
}

interface SarifResult {
  ruleId: string;
  message?: { text?: string };
  locations?: Array<{ physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } } }>;
}

afterAll(() => dir.remove());

describe('electronegativity', () => {
  it('reports nothing beyond the reviewed baseline, and every baseline entry still applies', () => {
    const stage = path.join(dir.path, 'stage');
    mkdirSync(path.join(stage, 'src-main'), { recursive: true });
    mkdirSync(path.join(stage, 'src-renderer'), { recursive: true });
    cpSync(path.join(ROOT, 'src-main/app'), path.join(stage, 'src-main/app'), { recursive: true });
    cpSync(path.join(ROOT, 'src-renderer/index.html'), path.join(stage, 'src-renderer/index.html'));
    const electronVersion = (JSON.parse(readFileSync(path.join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;
    const cli = path.join(path.dirname(require.resolve('@doyensec/electronegativity/package.json')), 'dist/index.js');
    const report = path.join(dir.path, 'report.sarif');
    const run = spawnSync(process.execPath, [cli, '-i', stage, '-r', '-o', report, '-v', 'false', '-e', electronVersion], {
      encoding: 'utf8', timeout: 110_000,
    });
    expect(existsSync(report), `no SARIF report; exit ${run.status}\n${run.stdout}\n${run.stderr}`).toBe(true);
    const sarif = JSON.parse(readFileSync(report, 'utf8')) as { runs: Array<{ results: SarifResult[] }> };
    const findings = sarif.runs.flatMap((r) => r.results).map((r) => ({
      rule: r.ruleId,
      file: r.locations?.[0]?.physicalLocation?.artifactLocation?.uri ?? '',
      line: r.locations?.[0]?.physicalLocation?.region?.startLine ?? 0,
      text: r.message?.text ?? '',
    }));
    const baseline = JSON.parse(readFileSync(path.join(import.meta.dirname, 'electronegativity-baseline.json'), 'utf8')) as Baseline;
    for (const entry of baseline.accepted) expect(entry.reason.length, `${entry.rule} needs a reason`).toBeGreaterThan(40);
    const accepted = (f: { rule: string; file: string }) => baseline.accepted.some((b) => b.rule === f.rule && b.file === f.file);
    const unlisted = findings.filter((f) => !accepted(f)).map((f) => `${f.rule} ${f.file}:${f.line} ${f.text}`);
    expect(unlisted, 'findings not in test/security/electronegativity-baseline.json').toEqual([]);
    const stale = baseline.accepted.filter((b) => !findings.some((f) => f.rule === b.rule && f.file === b.file)).map((b) => `${b.rule} ${b.file}`);
    expect(stale, 'baseline entries nothing reports any more: remove them').toEqual([]);
  }, 120_000);
});
