/**
 * What a broker says to NameServers: register (with its topic configs), unregister, query data version.
 * RocketMQ: broker/out/BrokerOuterAPI.java (registerBrokerAll sends to every NameServer in parallel and
 * reports each outcome; one NameServer down does not fail the others).
 */
import { crc32 } from 'node:zlib';
import type { RemotingClient } from '../../remoting/remoting-client.js';
import { createRequest } from '../../remoting/remoting-command.js';
import { RequestCode } from '../../remoting/request-code.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { parseFastjson, toFastjson } from '../../remoting/fastjson.js';
import type { DataVersion, TopicConfig } from './route-types.js';

/** RocketMQ BrokerConfig.registerBrokerTimeoutMills is 6 s in 4.x. */
export const DEFAULT_REGISTER_TIMEOUT_MS = 6_000;

export interface BrokerIdentity {
  clusterName: string;
  brokerName: string;
  brokerAddr: string;
  brokerId: number;
  haServerAddr: string;
}

export type RegisterBrokerOutcome =
  | {
    namesrvAddr: string;
    ok: true;
    /** Filled for a slave once its master is registered. */
    masterAddr?: string;
    haServerAddr?: string;
    /** KV namespace ORDER_TOPIC_CONFIG, when the NameServer has entries. */
    orderTopicConfig?: Record<string, string>;
  }
  | { namesrvAddr: string; ok: false; code?: number; error: string };

export type NamesrvOutcome =
  | { namesrvAddr: string; ok: true }
  | { namesrvAddr: string; ok: false; code?: number; error: string };

export interface QueryDataVersionResult {
  changed: boolean;
  nameServerDataVersion?: DataVersion;
}

export interface NamesrvClientOptions {
  timeoutMs?: number;
}

/** RegisterBrokerBody as a Java broker writes it (uncompressed). */
export function encodeRegisterBrokerBody(topicConfigTable: Record<string, TopicConfig>, dataVersion: DataVersion): Buffer {
  return Buffer.from(toFastjson({
    filterServerList: [],
    topicConfigSerializeWrapper: { dataVersion, topicConfigTable },
  }), 'utf8');
}

/**
 * Registers with every NameServer at once (RocketMQ: BrokerOuterAPI#registerBrokerAll). Never rejects:
 * one outcome per address, in order.
 */
export async function registerBrokerAll(
  client: RemotingClient,
  namesrvAddrs: string[],
  info: BrokerIdentity,
  topicConfigTable: Record<string, TopicConfig>,
  dataVersion: DataVersion,
  options: NamesrvClientOptions = {},
): Promise<RegisterBrokerOutcome[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REGISTER_TIMEOUT_MS;
  const body = encodeRegisterBrokerBody(topicConfigTable, dataVersion);
  const bodyCrc32 = (crc32(body) & 0x7fffffff) >>> 0;
  return Promise.all(namesrvAddrs.map(async (namesrvAddr): Promise<RegisterBrokerOutcome> => {
    const request = createRequest(RequestCode.REGISTER_BROKER, {
      brokerAddr: info.brokerAddr,
      brokerId: info.brokerId,
      brokerName: info.brokerName,
      clusterName: info.clusterName,
      haServerAddr: info.haServerAddr,
      compressed: false,
      bodyCrc32,
    }, body);
    try {
      const response = await client.invoke(namesrvAddr, request, timeoutMs);
      if (response.code !== ResponseCode.SUCCESS) {
        return { namesrvAddr, ok: false, code: response.code, error: response.remark ?? `response code ${response.code}` };
      }
      const outcome: RegisterBrokerOutcome = { namesrvAddr, ok: true };
      const ext = response.extFields ?? {};
      if (ext.masterAddr) outcome.masterAddr = ext.masterAddr;
      if (ext.haServerAddr) outcome.haServerAddr = ext.haServerAddr;
      const table = readKvTable(response.body);
      if (table) outcome.orderTopicConfig = table;
      return outcome;
    } catch (err) {
      return { namesrvAddr, ok: false, error: (err as Error).message };
    }
  }));
}

/** Unregisters from every NameServer at once (broker shutdown). Never rejects. */
export async function unregisterBroker(
  client: RemotingClient,
  namesrvAddrs: string[],
  info: Omit<BrokerIdentity, 'haServerAddr'>,
  options: NamesrvClientOptions = {},
): Promise<NamesrvOutcome[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REGISTER_TIMEOUT_MS;
  return Promise.all(namesrvAddrs.map(async (namesrvAddr): Promise<NamesrvOutcome> => {
    const request = createRequest(RequestCode.UNREGISTER_BROKER, {
      brokerAddr: info.brokerAddr,
      brokerId: info.brokerId,
      brokerName: info.brokerName,
      clusterName: info.clusterName,
    });
    try {
      const response = await client.invoke(namesrvAddr, request, timeoutMs);
      if (response.code !== ResponseCode.SUCCESS) {
        return { namesrvAddr, ok: false, code: response.code, error: response.remark ?? `response code ${response.code}` };
      }
      return { namesrvAddr, ok: true };
    } catch (err) {
      return { namesrvAddr, ok: false, error: (err as Error).message };
    }
  }));
}

/**
 * Asks one NameServer whether its copy of our topic configs is stale (the forceRegister=false path).
 * Rejects on a transport error or a non-SUCCESS answer.
 */
export async function queryDataVersion(
  client: RemotingClient,
  namesrvAddr: string,
  info: Omit<BrokerIdentity, 'haServerAddr'>,
  dataVersion: DataVersion,
  options: NamesrvClientOptions = {},
): Promise<QueryDataVersionResult> {
  const request = createRequest(RequestCode.QUERY_DATA_VERSION, {
    brokerAddr: info.brokerAddr,
    brokerId: info.brokerId,
    brokerName: info.brokerName,
    clusterName: info.clusterName,
  }, Buffer.from(toFastjson(dataVersion), 'utf8'));
  const response = await client.invoke(namesrvAddr, request, options.timeoutMs ?? DEFAULT_REGISTER_TIMEOUT_MS);
  if (response.code !== ResponseCode.SUCCESS) {
    throw new Error(`QUERY_DATA_VERSION to ${namesrvAddr} failed: ${response.code} ${response.remark ?? ''}`.trim());
  }
  const result: QueryDataVersionResult = { changed: response.extFields?.changed === 'true' };
  if (response.body && response.body.length > 0) {
    const v = parseFastjson(response.body.toString('utf8')) as Partial<DataVersion> | null;
    if (v && typeof v === 'object') {
      result.nameServerDataVersion = {
        stateVersion: Number(v.stateVersion ?? 0), timestamp: Number(v.timestamp ?? 0), counter: Number(v.counter ?? 0),
      };
    }
  }
  return result;
}

function readKvTable(body: Buffer | undefined): Record<string, string> | undefined {
  if (!body || body.length === 0) return undefined;
  try {
    const parsed = parseFastjson(body.toString('utf8')) as { table?: unknown } | null;
    const table = parsed?.table;
    if (!table || typeof table !== 'object' || Array.isArray(table)) return undefined;
    return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, String(v)]));
  } catch {
    return undefined;
  }
}
