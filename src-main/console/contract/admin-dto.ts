/**
 * Response types of the administration channels (admin-schemas.ts). Pure types.
 */
import type { OffsetSnapshot } from './ops-dto.js';

export interface AddressRewrite {
  from: string;
  to: string;
}

export interface ConnectionOptions {
  connectionId: string;
  readOnly: boolean;
  addressRewrites: AddressRewrite[];
  updatedAt: number | null;
}

export interface OffsetSnapshotList {
  snapshots: OffsetSnapshot[];
}

export interface OpCancelResult {
  /** False when no running operation of this page had that id (it had finished already). */
  cancelled: boolean;
}

/** Payload of an `op:progress` event: how far a long call of this page is. */
export interface OpProgress {
  opId: string;
  done: number;
  /** null while the total is not known yet. */
  total: number | null;
  /** What it is doing now ("broker-a/3"). */
  step: string | null;
}

export interface EmbeddedSettingsValue {
  startOnLaunch: boolean;
  namesrvPort: number;
  namesrvCount: number;
  brokerBasePort: number;
  brokerGroups: string[];
  slavesPerGroup: number;
  flushMode: 'ASYNC' | 'SYNC';
  replicationMode: 'ASYNC' | 'SYNC';
  /** '' = the default location (shown in `defaultDataDir`). */
  dataDir: string;
}

export interface EmbeddedSettingsView {
  /** What is saved (the defaults when nothing is). */
  settings: EmbeddedSettingsValue;
  defaults: EmbeddedSettingsValue;
  savedAt: number | null;
  /** What the running cluster was started with; null when it does not run in this host. */
  running: EmbeddedSettingsValue | null;
  defaultDataDir: string;
  /** Settings the host's command line fixes (headless flags), which win over saved ones. */
  pinnedByHost: Array<keyof EmbeddedSettingsValue>;
  /** Saved settings differ from the running ones: they apply when MQDesk restarts. */
  restartNeeded: boolean;
}

export interface EmbeddedNode {
  name: string;
  brokerName: string;
  brokerId: number;
  role: string;
  address: string;
  state: string;
  /** Slave: bytes behind its master; master: connected slaves. null when unknown. */
  haConnected: boolean | null;
  haBehindBytes: number | null;
}

export interface EmbeddedNamesrv {
  index: number;
  address: string;
  state: 'running' | 'stopped';
  /** Answered GET_BROKER_CLUSTER_INFO over TCP just now. */
  reachable: boolean;
}

export interface ClusterEventView {
  at: number;
  kind: string;
  node: string | null;
  detail: string;
}

export interface EmbeddedClusterNodes {
  /** False for a connection that is not the embedded cluster of this host: no controls. */
  available: boolean;
  nodes: EmbeddedNode[];
  namesrvs: EmbeddedNamesrv[];
  /** Newest first, at most 200. */
  events: ClusterEventView[];
}

export interface NodeActionResult {
  node: string;
  state: string;
  role: string;
}
