/**
 * The headless `serve` CLI as a user runs it: two instances side by side on free ports, the
 * "NameServer: host:port" contract line, clean SIGTERM shutdown, the data-dir layout, restart on
 * the same data dir, and flag errors / help.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RemotingClient } from '../../src-main/remoting/remoting-client.js';
import { RequestCode } from '../../src-main/remoting/request-code.js';
import { ResponseCode } from '../../src-main/remoting/response-code.js';
import { tempDir } from '../harness/temp-dir.js';
import { body, call, pull, send } from '../harness/broker-protocol.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const CLI = 'src-main/server/cli.ts';

interface Serve {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
const dirs: Array<{ remove(): void }> = [];

function serve(args: string[]): Serve {
  const proc = spawn(TSX, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, MQDESK_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    });
  });
  return { proc, stdout: () => out, stderr: () => err, exited };
}

async function namesrvOf(s: Serve, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /^NameServer: (127\.0\.0\.1:\d+)$/m.exec(s.stdout());
    if (m) return m[1]!;
    if (s.proc.exitCode !== null) throw new Error(`serve exited early (${s.proc.exitCode}): ${s.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no NameServer line within ${timeoutMs} ms; stdout: ${s.stdout()} stderr: ${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopWithSignal(s: Serve, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; elapsed: number }> {
  const start = Date.now();
  s.proc.kill(signal);
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`serve did not exit within 15 s of ${signal}`)), 15_000));
  const { code } = await Promise.race([s.exited, timeout]);
  return { code, elapsed: Date.now() - start };
}

interface ClusterInfo {
  brokerAddrTable: Record<string, { brokerAddrs: Record<string, string> }>;
  clusterAddrTable: Record<string, string[]>;
}

async function clusterInfo(client: RemotingClient, namesrv: string): Promise<ClusterInfo> {
  const res = await call(client, namesrv, RequestCode.GET_BROKER_CLUSTER_INFO);
  expect(res.code).toBe(ResponseCode.SUCCESS);
  return body<ClusterInfo>(res);
}

afterAll(async () => {
  for (const p of running) p.kill('SIGKILL');
  for (const d of dirs) d.remove();
});

describe('serve CLI', () => {
  it('runs two instances side by side, stops on SIGTERM, and keeps data across a restart', async () => {
    const d1 = tempDir('serve-1');
    const d2 = tempDir('serve-2');
    dirs.push(d1, d2);
    const client = new RemotingClient({ defaultTimeoutMs: 5000 });
    try {
      const s1 = serve(['--namesrv-port', '0', '--no-console', '--data-dir', d1.path]);
      const s2 = serve(['--namesrv-port', '0', '--no-console', '--data-dir', d2.path]);
      const [ns1, ns2] = await Promise.all([namesrvOf(s1), namesrvOf(s2)]);
      expect(ns1).not.toBe(ns2);

      const [info1, info2] = await Promise.all([clusterInfo(client, ns1), clusterInfo(client, ns2)]);
      for (const info of [info1, info2]) {
        expect(info.clusterAddrTable).toEqual({ DefaultCluster: ['broker-a', 'broker-b'] });
        expect(Object.keys(info.brokerAddrTable['broker-a']!.brokerAddrs).sort()).toEqual(['0', '1']);
      }
      const master1 = info1.brokerAddrTable['broker-a']!.brokerAddrs['0']!;
      const master2 = info2.brokerAddrTable['broker-a']!.brokerAddrs['0']!;
      expect(master1).not.toBe(master2);
      expect(s1.stdout()).toContain(`Broker: broker-a-0 ASYNC_MASTER ${master1}`);
      expect(s1.stdout()).toContain(`Data: ${d1.path}`);

      // A third instance asked for a port that is taken fails with a clear message.
      const clash = serve(['--namesrv-port', ns1.split(':')[1]!, '--no-console', '--data-dir', path.join(d1.path, 'clash')]);
      const clashExit = await clash.exited;
      expect(clashExit.code).toBe(1);
      expect(clash.stderr()).toContain('a port is already in use');

      const sent = await send(client, master1, { topic: 'ServeTopic', queueId: 0, body: 'survives restart', tags: 'S' });
      await send(client, info1.brokerAddrTable['broker-b']!.brokerAddrs['0']!, { topic: 'ServeTopic', queueId: 0, body: 'on b' });
      await send(client, master2, { topic: 'ServeTopic', queueId: 0, body: 'other instance' });
      client.close();

      const [stop1, stop2] = await Promise.all([stopWithSignal(s1), stopWithSignal(s2)]);
      for (const [s, stop] of [[s1, stop1], [s2, stop2]] as const) {
        expect(stop.code).toBe(0);
        expect(stop.elapsed).toBeLessThan(15_000);
        expect(s.stdout()).toContain('SIGTERM received, stopping the cluster');
        expect(s.stdout()).toMatch(/^cluster stopped$/m);
      }

      for (const node of ['broker-a-0', 'broker-a-1', 'broker-b-0', 'broker-b-1']) {
        for (const sub of ['commitlog', 'consumequeue', 'meta']) {
          const p = path.join(d1.path, node, sub);
          expect(existsSync(p) && statSync(p).isDirectory(), p).toBe(true);
        }
        expect(existsSync(path.join(d1.path, node, 'meta', 'topics.db'))).toBe(true);
      }
      expect(existsSync(path.join(d1.path, 'broker-a-0', 'consumequeue', 'ServeTopic', '0'))).toBe(true);

      // Restart on the same data dir: the message is still there (new ports).
      const again = serve(['--namesrv-port', '0', '--no-console', '--data-dir', d1.path]);
      const ns = await namesrvOf(again);
      const client2 = new RemotingClient({ defaultTimeoutMs: 5000 });
      try {
        const info = await clusterInfo(client2, ns);
        const master = info.brokerAddrTable['broker-a']!.brokerAddrs['0']!;
        const p = await pull(client2, master, { topic: 'ServeTopic', queueOffset: 0 });
        expect(p.code).toBe(ResponseCode.SUCCESS);
        expect(p.messages.map((m) => m.body.toString())).toEqual(['survives restart']);
        expect(p.messages[0]!.msgId).toBe(sent.msgId);
        expect(p.messages[0]!.properties.TAGS).toBe('S');
      } finally {
        client2.close();
      }
      // Ctrl-C stops it the same way.
      const stop = await stopWithSignal(again, 'SIGINT');
      expect(stop.code).toBe(0);
      expect(again.stdout()).toContain('SIGINT received, stopping the cluster');
      expect(again.stdout()).toMatch(/^cluster stopped$/m);
    } finally {
      client.close();
    }
  }, 90_000);

  it('exits 2 with a clear message on a bad flag value', async () => {
    const s = serve(['--flush', 'maybe']);
    const { code } = await s.exited;
    expect(code).toBe(2);
    expect(s.stderr()).toContain('--flush needs async or sync, got "maybe"');
    expect(s.stderr()).toContain('Usage: mqdesk serve [options]');
    expect(s.stdout()).not.toContain('NameServer:');
  });

  it('exits 2 on an unknown flag and on a bad port', async () => {
    const unknown = serve(['--bogus']);
    const port = serve(['--namesrv-port', '70000']);
    const [unknownExit, portExit] = await Promise.all([unknown.exited, port.exited]);
    expect(unknownExit.code).toBe(2);
    expect(unknown.stderr()).toContain('unknown option "--bogus"');
    expect(portExit.code).toBe(2);
    expect(port.stderr()).toContain('--namesrv-port needs a port number 0-65535, got "70000"');
  });

  it('prints usage for --help and exits 0 without starting anything', async () => {
    const s = serve(['--help']);
    const { code } = await s.exited;
    expect(code).toBe(0);
    expect(s.stdout()).toContain('Usage: mqdesk serve [options]');
    for (const flag of ['--data-dir', '--namesrv-port', '--no-console', '--flush', '--replication']) expect(s.stdout()).toContain(flag);
    expect(s.stdout()).not.toContain('NameServer:');
  });
});
