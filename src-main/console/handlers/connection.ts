/**
 * connection:list / save / remove / test. Saved remote clusters live in NeDB; the embedded cluster
 * is listed first while it runs and cannot be edited. Secrets never leave the host: the page sees
 * `hasSecret` only.
 */
import { RequestCode } from '../../remoting/request-code.js';
import { ConsoleError } from '../contract/errors.js';
import type { ConnectionTestResult } from '../contract/dto.js';
import type { Handler } from '../dispatch.js';
import { createAdmin, credentialsOf, normalizeAddr } from '../connection.js';
import { parseBody, type ClusterInfoView } from '../../remoting/admin/mq-admin.js';
import { EMBEDDED_CONNECTION_ID } from '../contract/schemas.js';
import { errorText } from '../cluster-view.js';

export const connectionList: Handler<'connection:list'> = async (_req, ctx) => ctx.connections.list();

export const connectionSave: Handler<'connection:save'> = async (req, ctx) => ctx.connections.save(req);

export const connectionRemove: Handler<'connection:remove'> = async (req, ctx) => {
  await ctx.connections.remove(req.id);
  return { ok: true };
};

/** Asks each NameServer for the cluster info with a fresh client (so nothing cached hides a failure). */
export const connectionTest: Handler<'connection:test'> = async (req, ctx) => {
  let namesrvAddr: string;
  let credentials: { accessKey: string; secretKey: string } | null = null;
  if (req.id !== undefined) {
    if (req.id === EMBEDDED_CONNECTION_ID) {
      if (!ctx.connections.embeddedNamesrvAddr) throw new ConsoleError('NOT_FOUND', 'The embedded cluster is not running');
      namesrvAddr = ctx.connections.embeddedNamesrvAddr;
    } else {
      const record = ctx.connections.record(req.id);
      if (!record) throw new ConsoleError('NOT_FOUND', `No saved connection with id "${req.id}"`);
      namesrvAddr = record.namesrvAddr;
      credentials = credentialsOf(record);
    }
  } else {
    namesrvAddr = normalizeAddr(req.namesrvAddr!);
    credentials = req.accessKey && req.secretKey ? { accessKey: req.accessKey, secretKey: req.secretKey } : null;
  }
  const admin = createAdmin(namesrvAddr, credentials);
  const started = Date.now();
  try {
    const info = parseBody(await admin.callNamesrv(RequestCode.GET_BROKER_CLUSTER_INFO)) as ClusterInfoView;
    const result: ConnectionTestResult = {
      ok: true,
      latencyMs: Date.now() - started,
      clusters: Object.keys(info.clusterAddrTable ?? {}).sort(),
      brokerCount: Object.keys(info.brokerAddrTable ?? {}).length,
      error: null,
    };
    return result;
  } catch (error) {
    return { ok: false, latencyMs: null, clusters: [], brokerCount: 0, error: errorText(error) };
  } finally {
    admin.close();
  }
};
