/**
 * Node slots: a broker node's stable identity in the cluster (its name = data directory,
 * "broker-a-1", and its ports) with the role it has or comes back with. The role and brokerId
 * live in `<node dir>/role.json`, so a restarted cluster keeps a promotion:
 *
 *   { "brokerRole": "ASYNC_MASTER" | "SYNC_MASTER" | "SLAVE", "brokerId": <0 for the master> }
 *
 * Group rules: one master per group, brokerId 0; slaves take distinct ids from 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BrokerNode } from '../broker.js';
import type { BrokerRole } from '../config/broker-config.js';
import type { NodeState, ResolvedClusterOptions } from './cluster-types.js';

export interface Slot {
  name: string;
  brokerName: string;
  dataDir: string;
  /** Port to bind (fixed, or the one first bound when ports are free, so addresses survive restarts). */
  port: number;
  haPort: number;
  role: BrokerRole;
  brokerId: number;
  node: BrokerNode;
  state: NodeState;
}

interface RoleFile {
  brokerRole: BrokerRole;
  brokerId: number;
}

const ROLE_FILE = 'role.json';

function readRoleFile(dir: string): RoleFile | null {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(dir, ROLE_FILE), 'utf8')) as Partial<RoleFile>;
    if ((v.brokerRole === 'ASYNC_MASTER' || v.brokerRole === 'SYNC_MASTER' || v.brokerRole === 'SLAVE') && Number.isInteger(v.brokerId)) {
      return { brokerRole: v.brokerRole, brokerId: v.brokerId as number };
    }
  } catch {
    // absent or unreadable: the layout decides
  }
  return null;
}

/** Records a slot's role for its next start. */
export function saveRole(slot: Slot): void {
  fs.mkdirSync(slot.dataDir, { recursive: true });
  const file = path.join(slot.dataDir, ROLE_FILE);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ brokerRole: slot.role, brokerId: slot.brokerId } satisfies RoleFile));
  fs.renameSync(`${file}.tmp`, file);
}

/** The role a group's master takes: SYNC_MASTER with SYNC replication. */
export function masterRole(replicationMode: 'ASYNC' | 'SYNC'): 'ASYNC_MASTER' | 'SYNC_MASTER' {
  return replicationMode === 'SYNC' ? 'SYNC_MASTER' : 'ASYNC_MASTER';
}

export function nextFreeId(used: Set<number>): number {
  let id = 1;
  while (used.has(id)) id++;
  return id;
}

/**
 * The slots of group number `g` before any node starts: node 0 is the master and the others
 * slaves unless role.json says otherwise; the first saved master wins and ids are made distinct.
 */
export function layoutGroup(o: ResolvedClusterOptions, g: number, brokerName: string): Slot[] {
  const freePorts = o.namesrvPort === 0;
  const group: Slot[] = [];
  for (let index = 0; index <= o.slavesPerGroup; index++) {
    const name = `${brokerName}-${index}`;
    const dataDir = path.join(o.dataDir, name);
    const saved = readRoleFile(dataDir);
    const role: BrokerRole = saved ? saved.brokerRole : index === 0 ? masterRole(o.replicationMode) : 'SLAVE';
    const port = freePorts ? 0 : o.brokerBasePort + g * 10 + index * 4;
    group.push({
      name, brokerName, dataDir, port, haPort: -1, role, brokerId: saved ? saved.brokerId : index,
      node: undefined as unknown as BrokerNode, state: 'stopped',
    });
  }
  // One master per group: the first that says so (a clean layout has exactly one).
  const master = group.find((s) => s.role !== 'SLAVE');
  for (const s of group) if (s !== master && s.role !== 'SLAVE') s.role = 'SLAVE';
  const usedIds = new Set<number>();
  for (const s of group) {
    if (s === master) s.brokerId = 0;
    else {
      if (s.brokerId < 1 || usedIds.has(s.brokerId)) s.brokerId = nextFreeId(usedIds);
      usedIds.add(s.brokerId);
    }
    if (master && s.role !== 'SLAVE') s.role = masterRole(o.replicationMode);
  }
  return group;
}

/** The running slave of a group with the longest log (the one that loses least as master). */
export function bestSlave(slots: readonly Slot[], brokerName: string): Slot | undefined {
  let best: Slot | undefined;
  for (const s of slots) {
    if (s.brokerName !== brokerName || s.state !== 'running' || s.node.config.brokerRole !== 'SLAVE') continue;
    if (!best || s.node.store.getMaxPhyOffset() > best.node.store.getMaxPhyOffset()) best = s;
  }
  return best;
}
