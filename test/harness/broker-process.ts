/**
 * A broker node (or NameServer, or whole embedded cluster) in its own process, for tests that
 * need a real crash: `spawnHost(spec)` starts `node --import tsx src-main/broker/host-entry.ts
 * <spec>` and resolves once it prints its addresses; `kill()` sends SIGKILL (by pid only) and
 * resolves when the process is gone. The reference's BrokerProcess (reliability-security.md §6.1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostSpec, ReadyInfo } from '../../src-main/broker/host-entry.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const entry = path.join(root, 'src-main/broker/host-entry.ts');

export interface HostProcess {
  readonly pid: number;
  readonly info: ReadyInfo;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** SIGKILL by default; resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<number | string>;
  /** SIGTERM: a clean stop. */
  stop(): Promise<number | string>;
  /** stdout + stderr so far (for failure messages). */
  output(): string;
}

export async function spawnHost(spec: HostSpec, options: { env?: Record<string, string>; startTimeoutMs?: number } = {}): Promise<HostProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, JSON.stringify(spec)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MQDESK_LOG: process.env.MQDESK_LOG ?? 'warn', ...options.env },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const info = await new Promise<ReadyInfo>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`host did not start in time:\n${out}`));
    }, options.startTimeoutMs ?? 30_000);
    const onData = (): void => {
      const m = /^MQDESK_READY (.+)$/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve(JSON.parse(m[1]!) as ReadyInfo);
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`host exited (${code}) before it was ready:\n${out}`));
    });
  });
  return {
    pid: child.pid!,
    info,
    child,
    exited,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
      return exited;
    },
    stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
      return exited;
    },
    output: () => out,
  };
}
