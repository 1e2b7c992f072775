/**
 * cluster:overview — NameServers, broker groups and, per node, GET_BROKER_RUNTIME_INFO: role,
 * version, TPS in/out, today's message totals, disk. A node that does not answer keeps its row with
 * nulls and the reason. RocketMQ dashboard: ClusterServiceImpl.
 */
import { RequestCode } from '../../remoting/request-code.js';
import type { BrokerGroupStatus, BrokerNodeStatus, ClusterOverview } from '../contract/dto.js';
import type { Handler } from '../dispatch.js';
import { errorText, mapLimit, numberOrNull, timeOrNull } from '../cluster-view.js';

/** "12.50 11.00 9.80" (10 s, 1 min, 10 min) → the first. */
function firstTps(value: string | undefined): number | null {
  if (!value) return null;
  return numberOrNull(value.trim().split(/\s+/)[0]);
}

export const clusterOverview: Handler<'cluster:overview'> = async (req, ctx) => {
  const connection = ctx.connections.get(req.connectionId);
  const admin = connection.admin;
  const nameServers = await Promise.all(admin.namesrvAddrs.map(async (address) => {
    try {
      await admin.call(address, RequestCode.GET_BROKER_CLUSTER_INFO, undefined, undefined, undefined, 3000);
      return { address, reachable: true };
    } catch {
      return { address, reachable: false };
    }
  }));
  const info = await admin.clusterInfo();
  const groups: BrokerGroupStatus[] = [];
  const clusterOf = new Map<string, string>();
  for (const [cluster, names] of Object.entries(info.clusterAddrTable ?? {})) for (const n of names) clusterOf.set(n, cluster);
  const nodes: Array<{ group: BrokerGroupStatus; brokerId: number; address: string }> = [];
  for (const b of Object.values(info.brokerAddrTable ?? {}).sort((x, y) => x.brokerName.localeCompare(y.brokerName))) {
    const group: BrokerGroupStatus = { cluster: b.cluster ?? clusterOf.get(b.brokerName) ?? '', brokerName: b.brokerName, nodes: [] };
    groups.push(group);
    for (const [id, address] of Object.entries(b.brokerAddrs ?? {}).sort((x, y) => Number(x[0]) - Number(y[0]))) {
      nodes.push({ group, brokerId: Number(id), address });
    }
  }
  const statuses = await mapLimit(nodes, 8, async (n): Promise<BrokerNodeStatus> => {
    const base: BrokerNodeStatus = {
      brokerId: n.brokerId, role: n.brokerId === 0 ? 'MASTER' : 'SLAVE', runtimeRole: null, address: n.address, version: null,
      tpsIn: null, tpsOut: null, msgPutToday: null, msgGetToday: null, diskRatio: null, diskUsedBytes: null,
      commitLogMaxOffset: null, bootTimestamp: null, error: null,
    };
    try {
      const t = await admin.brokerRuntimeInfo(n.address, 3000);
      const diskRatio = numberOrNull(t['commitLogDiskRatio']);
      return {
        ...base,
        runtimeRole: t['brokerRole'] ?? null,
        version: t['brokerVersionDesc'] ?? null,
        tpsIn: firstTps(t['putTps']),
        tpsOut: firstTps(t['getTransferredTps'] ?? t['getTransferedTps']),
        msgPutToday: subtract(t['msgPutTotalTodayNow'], t['msgPutTotalTodayMorning']),
        msgGetToday: subtract(t['msgGetTotalTodayNow'], t['msgGetTotalTodayMorning']),
        diskRatio: diskRatio === null ? null : Math.min(1, diskRatio),
        diskUsedBytes: numberOrNull(t['diskUsedBytes']),
        commitLogMaxOffset: numberOrNull(t['commitLogMaxOffset']),
        bootTimestamp: timeOrNull(t['bootTimestamp']),
      };
    } catch (error) {
      return { ...base, error: errorText(error) };
    }
  });
  nodes.forEach((n, i) => n.group.nodes.push(statuses[i]!));
  const overview: ClusterOverview = {
    connectionId: connection.id,
    nameServers,
    clusters: Object.keys(info.clusterAddrTable ?? {}).sort(),
    brokerGroups: groups,
    fetchedAt: Date.now(),
  };
  return overview;
};

/** now − morning, as RocketMQ's dashboard shows "today"; null when either is missing. */
function subtract(now: string | undefined, morning: string | undefined): number | null {
  const a = numberOrNull(now);
  const b = numberOrNull(morning);
  if (a === null) return null;
  return b === null ? a : Math.max(0, a - b);
}
