/**
 * The embedded cluster's vocabulary: start options with their defaults, and what it reports about
 * its nodes, NameServers and events. `cluster.ts` re-exports the public ones.
 */
import type { BrokerConfig, FlushMode } from '../config/broker-config.js';
import type { BrokerHaStatus } from '../ha/broker-ha.js';

export interface ClusterOptions {
  dataDir: string;
  /** Default 9876; 0 picks every port of the cluster free. */
  namesrvPort?: number;
  namesrvCount?: number;
  clusterName?: string;
  brokerGroups?: string[];
  slavesPerGroup?: number;
  /** First broker port when ports are fixed (masters 10911, 10921, …; slaves +4; HA port = port + 1). */
  brokerBasePort?: number;
  flushMode?: FlushMode;
  replicationMode?: 'ASYNC' | 'SYNC';
  host?: string;
  brokerOverrides?: Partial<BrokerConfig>;
  /** Automatic failover: promote a slave once its master has been unreachable this long; 0 = off. Default 10 s. */
  failoverTimeoutMs?: number;
  /** How often the failover controller probes masters (1 s). */
  failoverCheckMs?: number;
}

export type ResolvedClusterOptions = Required<Omit<ClusterOptions, 'brokerOverrides'>> & { brokerOverrides: Partial<BrokerConfig> };

export function resolveClusterOptions(opts: ClusterOptions): ResolvedClusterOptions {
  return {
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
    failoverTimeoutMs: 10_000,
    failoverCheckMs: 1_000,
    ...opts,
  };
}

export type NodeState = 'starting' | 'running' | 'stopping' | 'stopped' | 'killed';

export interface NodeInfo {
  /** Stable node name = its data directory ("broker-a-1"), whatever its current role. */
  name: string;
  brokerName: string;
  brokerId: number;
  role: string;
  address: string;
  state: string;
  /** Replication: HA address, log end, connected slaves (master) or link to the master (slave). */
  ha: BrokerHaStatus | null;
}

export interface NamesrvInfo {
  index: number;
  address: string;
  state: 'running' | 'stopped';
}

export interface ClusterEvent {
  at: number;
  kind: 'node-stopped' | 'node-killed' | 'node-started' | 'promoted' | 'failover' | 'namesrv-stopped' | 'namesrv-started'
    | 'replication-paused' | 'replication-resumed';
  node?: string;
  detail: string;
}
