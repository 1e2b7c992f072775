#!/usr/bin/env node
// `npm test`: type-check, then every Vitest suite (unit, integration, compatibility with ali-ons,
// browser e2e). Ends with one line "N passed, N failed" totalling all of them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
let passed = 0;
let failed = 0;

// 1. Type-checks, main and renderer (each counts as one check).
console.log('== typecheck (tsc -p tsconfig.node.json)');
const tsc = spawnSync(bin('tsc'), ['-p', 'tsconfig.node.json', '--noEmit'], { cwd: root, stdio: 'inherit' });
if (tsc.status === 0) passed++; else failed++;
console.log('== typecheck (vue-tsc -p tsconfig.web.json)');
const vueTsc = spawnSync(bin('vue-tsc'), ['-p', 'tsconfig.web.json', '--noEmit'], { cwd: root, stdio: 'inherit' });
if (vueTsc.status === 0) passed++; else failed++;

// 2. Vitest, with a JSON report to count results.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mqdesk-test-'));
const report = path.join(tmp, 'vitest.json');
console.log('== vitest');
const vitest = spawnSync(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)], {
  cwd: root, stdio: 'inherit', env: { ...process.env, MQDESK_LOG: process.env.MQDESK_LOG ?? 'warn' },
});
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // A suite that failed to load has no failed tests but must still fail the run.
  const brokenSuites = (r.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
  failed += brokenSuites;
  if (r.numTotalTests === 0) {
    console.error('no tests ran');
    failed++;
  }
} catch (err) {
  console.error(`could not read the vitest report: ${err.message}`);
  failed++;
}
if (vitest.status !== 0 && failed === 0) failed++;
rmSync(tmp, { recursive: true, force: true });

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
