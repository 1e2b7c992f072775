/**
 * Runs one broker node, one NameServer or a whole embedded cluster in this process, from a JSON
 * spec given as the first argument (the spec itself, or a path to a file holding it), so tests
 * can SIGKILL a real process (test/harness/broker-process.ts):
 *
 *   node --import tsx src-main/broker/host-entry.ts '{"kind":"broker","config":{...BrokerConfig}}'
 *   … '{"kind":"namesrv","port":0}'   … '{"kind":"cluster","options":{...ClusterOptions}}'
 *
 * Prints one line `MQDESK_READY {json}` (addresses, pid) once serving; SIGTERM/SIGINT stop it
 * cleanly and exit 0.
 */
import { readFileSync } from 'node:fs';
import { BrokerNode } from './broker.js';
import { NameServer } from './namesrv/namesrv.js';
import { startCluster, type ClusterOptions } from './cluster/cluster.js';
import { defaultBrokerConfig, type BrokerConfig } from './config/broker-config.js';

export type HostSpec =
  | { kind: 'broker'; config: Partial<BrokerConfig> & Pick<BrokerConfig, 'brokerName' | 'dataDir'> }
  | { kind: 'namesrv'; host?: string; port?: number; dataDir?: string }
  | { kind: 'cluster'; options: ClusterOptions };

export interface ReadyInfo {
  pid: number;
  /** broker: its remoting address; namesrv: its address; cluster: the NameServer list. */
  address: string;
  haAddress?: string;
  nodes?: Array<{ name: string; role: string; address: string }>;
}

function readSpec(arg: string | undefined): HostSpec {
  if (!arg) throw new Error('usage: host-entry.ts <json spec | spec file>');
  const text = arg.trimStart().startsWith('{') ? arg : readFileSync(arg, 'utf8');
  return JSON.parse(text) as HostSpec;
}

async function main(): Promise<void> {
  const spec = readSpec(process.argv[2]);
  let stop: () => Promise<void>;
  let info: ReadyInfo;
  if (spec.kind === 'broker') {
    const node = new BrokerNode(defaultBrokerConfig(spec.config));
    await node.start();
    stop = () => node.stop();
    info = { pid: process.pid, address: node.address, haAddress: node.ha.haServerAddr };
  } else if (spec.kind === 'namesrv') {
    const ns = new NameServer({ host: spec.host, port: spec.port ?? 0, dataDir: spec.dataDir });
    await ns.start();
    stop = () => ns.stop();
    info = { pid: process.pid, address: ns.address };
  } else {
    const cluster = await startCluster(spec.options);
    stop = () => cluster.stop();
    info = {
      pid: process.pid, address: cluster.namesrvAddr,
      nodes: cluster.nodes().map((n) => ({ name: n.name, role: n.role, address: n.address })),
    };
  }
  process.stdout.write(`MQDESK_READY ${JSON.stringify(info)}\n`);
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 15_000);
    stop().then(() => {
      clearTimeout(force);
      process.exit(0);
    }, () => process.exit(1));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`host-entry: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
