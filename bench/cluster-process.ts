/**
 * Runs the embedded cluster as a child process (`mqdesk serve`), so the benchmark client and the
 * broker do not share an event loop and the broker's RSS can be read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ClusterProcess {
  child: ChildProcess;
  namesrvAddr: string;
  rssBytes(): number;
  stop(): Promise<void>;
}

export async function spawnCluster(dataDir: string, extraArgs: string[] = []): Promise<ClusterProcess> {
  // One node process with tsx's loader (no wrapper process), so /proc/<pid> is the cluster itself.
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(root, 'src-main/server/cli.ts'), '--namesrv-port', '0', '--no-console',
    '--data-dir', dataDir, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MQDESK_LOG: 'warn' } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const namesrvAddr = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`cluster did not start in 30 s: ${stderr}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^NameServer: (\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`cluster exited with ${code}: ${stderr}`)));
  });
  return {
    child,
    namesrvAddr,
    rssBytes(): number {
      // tsx runs the CLI in a child node process; measure the process that holds the cluster.
      return rssOfTree(child.pid!);
    },
    stop(): Promise<void> {
      return new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

/** Largest RSS among the process and its descendants (tsx's loader parent is small; the cluster is the big one). */
function rssOfTree(pid: number): number {
  let best = readRss(pid);
  for (const c of childrenOf(pid)) best = Math.max(best, rssOfTree(c));
  return best;
}

function readRss(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
