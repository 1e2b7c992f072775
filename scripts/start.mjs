#!/usr/bin/env node
// `npm start`: the desktop app when Electron can run here, else the headless console.
//
// Electron runs only if its binary is installed and a display exists (DISPLAY or WAYLAND_DISPLAY
// on Linux; always on macOS and Windows). Otherwise, or if Electron dies within its first seconds,
// this prints one line saying why and runs `tsx src-main/server/cli.ts` with the same arguments.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const args = process.argv.slice(2);
/** An Electron that exits non-zero sooner than this counts as "could not start". */
const EARLY_FAILURE_MS = 5_000;
const BUILD_OUTPUTS = ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html'];

/**
 * The Electron executable, or null. Mirrors node_modules/electron/index.js without requiring it:
 * that module starts a download when the binary is missing, which cannot succeed offline.
 */
function electronBinary() {
  let packageDir;
  try {
    packageDir = dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
  const pathFile = join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const relativePath = readFileSync(pathFile, 'utf8').trim();
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const binary = override ? join(override, relativePath || 'electron') : join(packageDir, 'dist', relativePath);
  return existsSync(binary) ? binary : null;
}

function hasDisplay() {
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
}

/** Runs `child` to its end: forwards SIGINT/SIGTERM, then exits as it did. */
function adopt(child) {
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

function startHeadless(reason) {
  console.log(`Electron cannot start here (${reason}); starting the headless console instead.`);
  // tsx's CLI run by this Node: the same as `npx tsx …`, minus npx's extra process and shell.
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'src-main/server/cli.ts', ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  child.on('error', (error) => {
    console.error(`Could not start the headless console: ${error.message}`);
    process.exit(1);
  });
  adopt(child);
}

function buildIfMissing() {
  if (BUILD_OUTPUTS.every((file) => existsSync(join(root, file)))) return;
  // electron-vite's "exports" hide its bin file; find it through package.json "bin".
  const packageJson = require.resolve('electron-vite/package.json');
  const cli = join(dirname(packageJson), JSON.parse(readFileSync(packageJson, 'utf8')).bin['electron-vite']);
  const build = spawnSync(process.execPath, [cli, 'build'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (build.status !== 0) {
    console.error('electron-vite build failed.');
    process.exit(build.status ?? 1);
  }
}

function startElectron(binary) {
  buildIfMissing();
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE; // would turn the binary into plain Node
  const startedAt = Date.now();
  const child = spawn(binary, ['.', ...args], { cwd: root, stdio: 'inherit', env });
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  let settled = false;
  /** True the first time only: `error` and `exit` can both fire for one failed spawn. */
  const settle = () => {
    if (settled) return false;
    settled = true;
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    return true;
  };
  child.on('error', (error) => {
    if (settle()) startHeadless(`Electron failed to launch: ${error.message}`);
  });
  child.on('exit', (code, signal) => {
    if (!settle()) return;
    if (code !== 0 && signal === null && Date.now() - startedAt < EARLY_FAILURE_MS) {
      startHeadless(`Electron exited with code ${code} during startup`);
    } else if (signal) {
      process.kill(process.pid, signal);
    } else {
      process.exit(code ?? 1);
    }
  });
}

const binary = electronBinary();
if (!binary) startHeadless('no Electron binary installed');
else if (!hasDisplay()) startHeadless('no display: DISPLAY and WAYLAND_DISPLAY are unset');
else startElectron(binary);
