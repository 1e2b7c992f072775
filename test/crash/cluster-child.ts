/**
 * The embedded cluster as a child process (`mqdesk serve` through tsx's loader, one node process),
 * so a test can kill it with SIGKILL and start it again on the same data directory. Children are
 * ended by their pid only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ClusterChild {
  child: ChildProcess;
  pid: number;
  namesrvAddr: string;
  /** "broker-a-0" → "127.0.0.1:port" */
  brokers: Map<string, string>;
  output(): string;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export async function startClusterChild(dataDir: string, extraArgs: string[] = [], timeoutMs = 60_000): Promise<ClusterChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src-main/server/cli.ts'), '--namesrv-port', '0', '--no-console',
    '--data-dir', dataDir, ...extraArgs], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MQDESK_LOG: 'warn' } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cluster did not start in ${timeoutMs} ms:\n${out}\n${err}`)), timeoutMs);
    const check = (): void => {
      if (/^Data: /m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`cluster exited with ${code} before it was up:\n${out}\n${err}`));
    });
  });
  const namesrvAddr = /^NameServer: (\S+)$/m.exec(out)?.[1] ?? '';
  const brokers = new Map<string, string>();
  for (const m of out.matchAll(/^Broker: (\S+) \S+ (\S+)$/gm)) brokers.set(m[1] as string, m[2] as string);
  return {
    child,
    pid: child.pid as number,
    namesrvAddr,
    brokers,
    output: () => `${out}\n${err}`,
    kill(signal: NodeJS.Signals): Promise<number | null> {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      process.kill(child.pid as number, signal);
      return exited;
    },
  };
}
