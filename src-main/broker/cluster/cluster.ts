/**
 * The embedded cluster: NameServer(s) and broker groups (master + slaves) in one process, all on
 * loopback, each node's data under <dataDir>/<node>. With namesrvPort 0 every port is chosen free,
 * so two clusters can run side by side. Lifecycle controls (stop/start a node) are in-process because
 * a real cluster does not offer them; everything else goes through the protocol.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { NameServer } from '../namesrv/namesrv.js';
import { BrokerNode } from '../broker.js';
import { defaultBrokerConfig, type BrokerConfig, type FlushMode } from '../config/broker-config.js';

export interface ClusterOptions {
  dataDir: string;
  /** Default 9876; 0 picks every port of the cluster free. */
  namesrvPort?: number;
  namesrvCount?: number;
  clusterName?: string;
  brokerGroups?: string[];
  slavesPerGroup?: number;
  /** First broker port when ports are fixed (masters 10911, 10921, …; slaves +10000 below 65535 rules). */
  brokerBasePort?: number;
  flushMode?: FlushMode;
  replicationMode?: 'ASYNC' | 'SYNC';
  host?: string;
  brokerOverrides?: Partial<BrokerConfig>;
}

export interface NodeInfo {
  name: string;
  brokerName: string;
  brokerId: number;
  role: string;
  address: string;
  state: string;
}

export class EmbeddedCluster {
  readonly namesrvs: NameServer[] = [];
  readonly brokers: BrokerNode[] = [];

  constructor(readonly options: Required<Omit<ClusterOptions, 'brokerOverrides'>> & { brokerOverrides: Partial<BrokerConfig> }) {}

  /** NameServer addresses joined by ';' as RocketMQ clients take them. */
  get namesrvAddr(): string {
    return this.namesrvs.map((n) => n.address).join(';');
  }

  nodes(): NodeInfo[] {
    return this.brokers.map((b) => ({
      name: `${b.config.brokerName}-${b.config.brokerId}`,
      brokerName: b.config.brokerName,
      brokerId: b.config.brokerId,
      role: b.config.brokerRole,
      address: b.state === 'running' ? b.address : '',
      state: b.state,
    }));
  }

  broker(brokerName: string, brokerId = 0): BrokerNode | undefined {
    return this.brokers.find((b) => b.config.brokerName === brokerName && b.config.brokerId === brokerId);
  }

  async stop(): Promise<void> {
    // Brokers first so they can unregister; then NameServers.
    await Promise.all(this.brokers.map((b) => b.stop()));
    await Promise.all(this.namesrvs.map((n) => n.stop()));
  }
}

export async function startCluster(opts: ClusterOptions): Promise<EmbeddedCluster> {
  const options = {
    namesrvPort: 9876,
    namesrvCount: 1,
    clusterName: 'DefaultCluster',
    brokerGroups: ['broker-a', 'broker-b'],
    slavesPerGroup: 1,
    brokerBasePort: 10911,
    flushMode: 'ASYNC' as FlushMode,
    replicationMode: 'ASYNC' as const,
    host: '127.0.0.1',
    brokerOverrides: {},
    ...opts,
  };
  mkdirSync(options.dataDir, { recursive: true });
  const cluster = new EmbeddedCluster(options);
  const freePorts = options.namesrvPort === 0;
  try {
    for (let i = 0; i < options.namesrvCount; i++) {
      const ns = new NameServer({
        host: options.host,
        port: freePorts ? 0 : options.namesrvPort + i,
        dataDir: path.join(options.dataDir, i === 0 ? 'namesrv' : `namesrv-${i}`),
      });
      await ns.start();
      cluster.namesrvs.push(ns);
    }
    const namesrvAddrs = cluster.namesrvs.map((n) => n.address);
    const masterRole = options.replicationMode === 'SYNC' ? 'SYNC_MASTER' : 'ASYNC_MASTER';
    for (const [g, brokerName] of options.brokerGroups.entries()) {
      for (let id = 0; id <= options.slavesPerGroup; id++) {
        // Fixed layout: broker-a 10911, broker-b 10921, …; its slaves 10915, 10925, … (HA would use port+1).
        const port = freePorts ? 0 : options.brokerBasePort + g * 10 + id * 4;
        const config = defaultBrokerConfig({
          brokerName,
          clusterName: options.clusterName,
          brokerId: id,
          brokerRole: id === 0 ? masterRole : 'SLAVE',
          host: options.host,
          listenPort: port,
          dataDir: path.join(options.dataDir, `${brokerName}-${id}`),
          namesrvAddrs,
          flushMode: options.flushMode,
          ...options.brokerOverrides,
        });
        const node = new BrokerNode(config);
        await node.start();
        cluster.brokers.push(node);
      }
    }
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}
