/**
 * The embedded cluster's lifecycle and fault controls, as the console sees them: the in-process
 * calls DESIGN allows ("the only in-process calls are the embedded cluster's own lifecycle and
 * fault-injection controls"). EmbeddedCluster (broker/cluster/cluster.ts) satisfies it; the host
 * that runs the cluster hands it to the console service. Everything else still goes over TCP.
 */
import type { ClusterEvent, NamesrvInfo, NodeInfo } from '../broker/cluster/cluster.js';

export interface EmbeddedControl {
  readonly namesrvAddr: string;
  readonly events: readonly ClusterEvent[];
  nodes(): NodeInfo[];
  namesrvNodes(): NamesrvInfo[];
  stopNode(name: string): Promise<void>;
  killNode(name: string): Promise<void>;
  restartNode(name: string): Promise<void>;
  promote(brokerName: string, nodeName?: string): Promise<NodeInfo>;
}
