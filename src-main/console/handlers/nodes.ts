/**
 * cluster:nodes / node:stop / node:kill / node:restart / node:promote — the embedded cluster's
 * fault controls for the Overview page (issue 3 item 8). Only for the embedded connection of the
 * host that runs the cluster in-process; any other connection answers `available: false` (list)
 * or FORBIDDEN (actions). NameServer health is both the in-process state and a TCP probe.
 */
import { RequestCode } from '../../remoting/request-code.js';
import { ConsoleError } from '../contract/errors.js';
import { EMBEDDED_CONNECTION_ID } from '../contract/schemas.js';
import type { EmbeddedClusterNodes, EmbeddedNode, NodeActionResult } from '../contract/admin-dto.js';
import type { Handler, HandlerContext } from '../dispatch.js';
import type { EmbeddedControl } from '../embedded-control.js';
import type { NodeInfo } from '../../broker/cluster/cluster.js';

const MAX_EVENTS = 200;
const PROBE_TIMEOUT_MS = 1500;

function control(ctx: HandlerContext, connectionId: string): EmbeddedControl {
  const embedded = ctx.embedded();
  if (connectionId !== EMBEDDED_CONNECTION_ID) {
    throw new ConsoleError('FORBIDDEN', 'Node controls exist only for the embedded cluster (a real cluster is run by its own operators)');
  }
  if (!embedded) throw new ConsoleError('NOT_FOUND', 'The embedded cluster does not run in this MQDesk');
  return embedded;
}

function known(embedded: EmbeddedControl, node: string): NodeInfo {
  const found = embedded.nodes().find((n) => n.name === node);
  if (!found) throw new ConsoleError('NOT_FOUND', `No node "${node}" in the embedded cluster (nodes: ${embedded.nodes().map((n) => n.name).join(', ')})`);
  return found;
}

function toNode(n: NodeInfo): EmbeddedNode {
  const ha = n.ha;
  let haConnected: boolean | null = null;
  let haBehindBytes: number | null = null;
  if (ha) {
    if (ha.client) {
      haConnected = ha.client.state === 'STREAMING';
      haBehindBytes = ha.client.masterMaxOffset >= ha.client.slaveMaxOffset ? ha.client.masterMaxOffset - ha.client.slaveMaxOffset : null;
    } else if (n.role !== 'SLAVE') {
      haConnected = ha.slaves.length > 0;
    }
  }
  return { name: n.name, brokerName: n.brokerName, brokerId: n.brokerId, role: n.role, address: n.address, state: n.state, haConnected, haBehindBytes };
}

function result(embedded: EmbeddedControl, node: string): NodeActionResult {
  const n = known(embedded, node);
  return { node: n.name, state: n.state, role: n.role };
}

/** Runs a lifecycle call; the cluster's own refusals ("no running slave to promote") become CONFLICT. */
async function act(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof ConsoleError) throw error;
    throw new ConsoleError('CONFLICT', error instanceof Error ? error.message : String(error));
  }
}

export const clusterNodes: Handler<'cluster:nodes'> = async (req, ctx) => {
  const embedded = req.connectionId === EMBEDDED_CONNECTION_ID ? ctx.embedded() : null;
  if (!embedded) return { available: false, nodes: [], namesrvs: [], events: [] };
  const admin = ctx.connections.get(req.connectionId).admin;
  const namesrvs = await Promise.all(embedded.namesrvNodes().map(async (ns) => {
    let reachable = false;
    if (ns.state === 'running') {
      try {
        await admin.call(ns.address, RequestCode.GET_BROKER_CLUSTER_INFO, undefined, undefined, undefined, PROBE_TIMEOUT_MS);
        reachable = true;
      } catch {
        reachable = false;
      }
    }
    return { index: ns.index, address: ns.address, state: ns.state, reachable };
  }));
  const events = embedded.events.slice(-MAX_EVENTS).reverse().map((e) => ({ at: e.at, kind: e.kind, node: e.node ?? null, detail: e.detail }));
  const out: EmbeddedClusterNodes = { available: true, nodes: embedded.nodes().map(toNode), namesrvs, events };
  return out;
};

export const nodeStop: Handler<'node:stop'> = async (req, ctx) => {
  const embedded = control(ctx, req.connectionId);
  const n = known(embedded, req.node);
  if (n.state !== 'running') throw new ConsoleError('CONFLICT', `${req.node} is ${n.state}, not running; nothing was changed`);
  await act(() => embedded.stopNode(req.node));
  return result(embedded, req.node);
};

export const nodeKill: Handler<'node:kill'> = async (req, ctx) => {
  const embedded = control(ctx, req.connectionId);
  const n = known(embedded, req.node);
  if (n.state !== 'running') throw new ConsoleError('CONFLICT', `${req.node} is ${n.state}, not running; nothing was changed`);
  await act(() => embedded.killNode(req.node));
  return result(embedded, req.node);
};

export const nodeRestart: Handler<'node:restart'> = async (req, ctx) => {
  const embedded = control(ctx, req.connectionId);
  known(embedded, req.node);
  await act(() => embedded.restartNode(req.node));
  return result(embedded, req.node);
};

export const nodePromote: Handler<'node:promote'> = async (req, ctx) => {
  const embedded = control(ctx, req.connectionId);
  if (!embedded.nodes().some((n) => n.brokerName === req.brokerName)) {
    throw new ConsoleError('NOT_FOUND', `No broker group "${req.brokerName}" in the embedded cluster`);
  }
  if (req.node !== undefined) {
    const n = known(embedded, req.node);
    if (n.brokerName !== req.brokerName) throw new ConsoleError('BAD_REQUEST', `${req.node} belongs to ${n.brokerName}, not ${req.brokerName}`);
  }
  let promoted: NodeInfo | null = null;
  await act(async () => {
    promoted = await embedded.promote(req.brokerName, req.node);
  });
  const p = promoted as NodeInfo | null;
  return { node: p?.name ?? req.node ?? req.brokerName, state: p?.state ?? 'running', role: p?.role ?? 'MASTER' };
};
