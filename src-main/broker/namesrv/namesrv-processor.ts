/**
 * NameServer request processors. RocketMQ: namesrv/processor/DefaultRequestProcessor.java and
 * ClientRequestProcessor.java (reference §7.1).
 *
 * Every header is checked before use: a missing required field answers SYSTEM_ERROR
 * "the custom field <name> is null" (Java's @CFNotNull text), a body that cannot be decoded answers
 * SYSTEM_ERROR naming the body. Nothing thrown here reaches the connection.
 */
import { inflateSync, crc32 } from 'node:zlib';
import { createResponse, type RemotingCommand } from '../../remoting/remoting-command.js';
import type { RequestProcessor } from '../../remoting/remoting-connection.js';
import { RequestCode } from '../../remoting/request-code.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { NumberKeyMap, parseFastjson, toFastjson } from '../../remoting/fastjson.js';
import type { Logger } from '../../remoting/logger.js';
import { HeaderError, RequestHeader } from '../processor/request-header.js';
import type { KvConfigManager } from './kv-config-manager.js';
import type { RouteInfoManager } from './route-info-manager.js';
import {
  NAMESPACE_ORDER_TOPIC_CONFIG,
  type ClusterInfo, type DataVersion, type TopicConfig, type TopicFilterType, type TopicList, type TopicRouteData,
} from './route-types.js';

/** MQVersion ordinals the NameServer switches on. */
const V3_0_11 = 37;
const V4_9_4 = 401;

/** RocketMQ FAQUrl.APPLY_TOPIC_URL with FAQUrl.suggestTodo, as a 4.9 NameServer words it. */
const TOPIC_FAQ_SUFFIX = '\nSee http://rocketmq.apache.org/docs/faq/ for further details.';

/** Inflated compressed register bodies are capped; a real one is a few hundred KiB at most. */
const MAX_INFLATED_REGISTER_BODY = 64 * 1024 * 1024;

export interface NamesrvProcessorDeps {
  routes: RouteInfoManager;
  kv: KvConfigManager;
  logger: Logger;
  /** Fill TopicRouteData.orderTopicConf from KV namespace ORDER_TOPIC_CONFIG (RocketMQ default false). */
  orderMessageEnable?: boolean;
  /** Answer REGISTER_BROKER with the ORDER_TOPIC_CONFIG KV table (RocketMQ default true). */
  returnOrderTopicConfigToBroker?: boolean;
}

/** A request body that cannot be decoded. */
export class BodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BodyError';
  }
}

export interface DecodedRegisterBrokerBody {
  /** Null when the request carried no body. */
  topicConfigTable: Record<string, TopicConfig> | null;
  dataVersion: DataVersion;
  filterServerList: string[];
}

/** The request-code → processor table of a NameServer. */
export function createNamesrvProcessors(deps: NamesrvProcessorDeps): Map<number, RequestProcessor> {
  const { routes, kv, logger } = deps;
  const orderMessageEnable = deps.orderMessageEnable ?? false;
  const returnOrderTopicConfigToBroker = deps.returnOrderTopicConfigToBroker ?? true;
  const table = new Map<number, RequestProcessor>();

  const register = (code: number, name: string, handler: RequestProcessor): void => {
    table.set(code, async (request, connection) => {
      try {
        return await handler(request, connection);
      } catch (err) {
        if (err instanceof HeaderError || err instanceof BodyError) {
          logger.warn(`${name} from ${connection.remoteAddress} rejected: ${err.message}`);
          return createResponse(request, ResponseCode.SYSTEM_ERROR, err.message);
        }
        const msg = err instanceof Error ? err.message : String(err);
        logger.error(`${name} from ${connection.remoteAddress} failed: ${msg}`);
        return createResponse(request, ResponseCode.SYSTEM_ERROR, `${name} failed: ${msg}`);
      }
    });
  };

  const ok = (request: RemotingCommand, header?: Record<string, string | number | boolean | undefined>, body?: Buffer) =>
    createResponse(request, ResponseCode.SUCCESS, undefined, header, body);
  const json = (value: unknown): Buffer => Buffer.from(toFastjson(value), 'utf8');

  register(RequestCode.REGISTER_BROKER, 'REGISTER_BROKER', (request, connection) => {
    const h = new RequestHeader(request.extFields);
    const brokerName = h.str('brokerName');
    const brokerAddr = h.str('brokerAddr');
    const clusterName = h.str('clusterName');
    const haServerAddr = h.str('haServerAddr');
    const brokerId = h.int('brokerId');
    const compressed = h.bool('compressed');
    const bodyCrc32 = h.optInt('bodyCrc32', 0) ?? 0;
    const heartbeatTimeoutMillis = h.optInt('heartbeatTimeoutMillis');
    const enableActingMaster = h.optStr('enableActingMaster') !== undefined ? h.bool('enableActingMaster') : undefined;
    const zoneName = h.optStr('__ZONE_NAME');

    // RocketMQ: DefaultRequestProcessor#checksum. An empty body checks as CRC32 of nothing (0).
    if (bodyCrc32 !== 0) {
      const actual = (crc32(request.body ?? Buffer.alloc(0)) & 0x7fffffff) >>> 0;
      if (actual !== bodyCrc32) {
        logger.warn(`REGISTER_BROKER from ${brokerAddr}: body crc32 ${actual} != header ${bodyCrc32}`);
        return createResponse(request, ResponseCode.SYSTEM_ERROR, 'crc32 not match');
      }
    }

    const body = decodeRegisterBrokerBody(request.body, compressed, request.version);
    const result = routes.registerBroker({
      clusterName, brokerAddr, brokerName, brokerId, haServerAddr,
      topicConfigTable: body.topicConfigTable,
      dataVersion: body.dataVersion,
      connectionId: connection.id,
      heartbeatTimeoutMillis: heartbeatTimeoutMillis !== undefined && heartbeatTimeoutMillis > 0 ? heartbeatTimeoutMillis : undefined,
      zoneName,
      enableActingMaster,
    });
    let responseBody: Buffer | undefined;
    if (returnOrderTopicConfigToBroker) {
      const orderTable = kv.getKVListByNamespace(NAMESPACE_ORDER_TOPIC_CONFIG);
      if (orderTable) responseBody = json({ table: orderTable });
    }
    return ok(request, { masterAddr: result.masterAddr, haServerAddr: result.haServerAddr }, responseBody);
  });

  register(RequestCode.UNREGISTER_BROKER, 'UNREGISTER_BROKER', (request) => {
    const h = new RequestHeader(request.extFields);
    const brokerName = h.str('brokerName');
    const brokerAddr = h.str('brokerAddr');
    const clusterName = h.str('clusterName');
    const brokerId = h.int('brokerId');
    routes.unregisterBroker(clusterName, brokerAddr, brokerName, brokerId);
    return ok(request);
  });

  register(RequestCode.GET_ROUTEINFO_BY_TOPIC, 'GET_ROUTEINFO_BY_TOPIC', (request) => {
    const h = new RequestHeader(request.extFields);
    const topic = h.str('topic');
    const standardJson = request.version >= V4_9_4 || h.bool('acceptStandardJsonOnly');
    const route = routes.pickupTopicRouteData(topic);
    if (!route) {
      return createResponse(request, ResponseCode.TOPIC_NOT_EXIST,
        `No topic route info in name server for the topic: ${topic}${TOPIC_FAQ_SUFFIX}`);
    }
    if (orderMessageEnable) {
      const conf = kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, topic);
      if (conf !== undefined) route.orderTopicConf = conf;
    }
    return ok(request, undefined, encodeTopicRouteData(route, standardJson));
  });

  register(RequestCode.GET_BROKER_CLUSTER_INFO, 'GET_BROKER_CLUSTER_INFO', (request) =>
    ok(request, undefined, encodeClusterInfo(routes.getClusterInfo())));

  register(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, 'GET_ALL_TOPIC_LIST_FROM_NAMESERVER', (request) =>
    ok(request, undefined, json({ topicList: routes.getAllTopicList() } satisfies TopicList)));

  register(RequestCode.DELETE_TOPIC_IN_NAMESRV, 'DELETE_TOPIC_IN_NAMESRV', (request) => {
    const h = new RequestHeader(request.extFields);
    const topic = h.str('topic');
    const clusterName = h.optStr('clusterName');
    const removed = routes.deleteTopic(topic, clusterName?.trim() ? clusterName : undefined);
    logger.info(`DELETE_TOPIC_IN_NAMESRV ${topic}${clusterName ? ` in ${clusterName}` : ''}: ${removed ? 'removed' : 'not found'}`);
    return ok(request);
  });

  register(RequestCode.GET_TOPICS_BY_CLUSTER, 'GET_TOPICS_BY_CLUSTER', (request) => {
    const cluster = new RequestHeader(request.extFields).str('cluster');
    return ok(request, undefined, json({ topicList: routes.getTopicsByCluster(cluster) } satisfies TopicList));
  });

  register(RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS, 'GET_SYSTEM_TOPIC_LIST_FROM_NS', (request) =>
    ok(request, undefined, json(routes.getSystemTopicList())));

  register(RequestCode.PUT_KV_CONFIG, 'PUT_KV_CONFIG', async (request) => {
    const h = new RequestHeader(request.extFields);
    const namespace = h.str('namespace');
    const key = h.str('key');
    const value = h.str('value');
    await kv.put(namespace, key, value);
    return ok(request);
  });

  register(RequestCode.GET_KV_CONFIG, 'GET_KV_CONFIG', (request) => {
    const h = new RequestHeader(request.extFields);
    const namespace = h.str('namespace');
    const key = h.str('key');
    const value = kv.get(namespace, key);
    if (value === undefined) {
      return createResponse(request, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${namespace} Key: ${key}`);
    }
    return ok(request, { value });
  });

  register(RequestCode.DELETE_KV_CONFIG, 'DELETE_KV_CONFIG', async (request) => {
    const h = new RequestHeader(request.extFields);
    const namespace = h.str('namespace');
    const key = h.str('key');
    await kv.delete(namespace, key);
    return ok(request);
  });

  register(RequestCode.GET_KVLIST_BY_NAMESPACE, 'GET_KVLIST_BY_NAMESPACE', (request) => {
    const namespace = new RequestHeader(request.extFields).str('namespace');
    const table = kv.getKVListByNamespace(namespace);
    if (!table) return createResponse(request, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${namespace}`);
    return ok(request, undefined, json({ table }));
  });

  register(RequestCode.WIPE_WRITE_PERM_OF_BROKER, 'WIPE_WRITE_PERM_OF_BROKER', (request) => {
    const brokerName = new RequestHeader(request.extFields).str('brokerName');
    const count = routes.wipeWritePermOfBroker(brokerName);
    logger.info(`wiped write perm of broker ${brokerName} on ${count} topics`);
    return ok(request, { wipeTopicCount: count });
  });

  register(RequestCode.ADD_WRITE_PERM_OF_BROKER, 'ADD_WRITE_PERM_OF_BROKER', (request) => {
    const brokerName = new RequestHeader(request.extFields).str('brokerName');
    const count = routes.addWritePermOfBroker(brokerName);
    logger.info(`added write perm of broker ${brokerName} on ${count} topics`);
    return ok(request, { addTopicCount: count });
  });

  register(RequestCode.QUERY_DATA_VERSION, 'QUERY_DATA_VERSION', (request) => {
    const h = new RequestHeader(request.extFields);
    h.str('brokerName');
    const brokerAddr = h.str('brokerAddr');
    h.str('clusterName');
    h.int('brokerId');
    if (!request.body || request.body.length === 0) throw new BodyError('QUERY_DATA_VERSION needs a DataVersion body');
    const dataVersion = toDataVersion(parseBodyJson(request.body, 'DataVersion'), 'DataVersion');
    const changed = routes.isBrokerTopicConfigChanged(brokerAddr, dataVersion);
    if (!changed) routes.updateBrokerInfoUpdateTimestamp(brokerAddr);
    const current = routes.queryBrokerTopicConfig(brokerAddr);
    return ok(request, { changed }, current ? json(current) : undefined);
  });

  return table;
}

/**
 * TopicRouteData as Java writes it: brokerAddrs with bare numeric keys (`{0:"ip:port"}`), which ali-ons'
 * eval-based reader needs, or with standardJson quoted keys and non-ASCII escaped as \uXXXX
 * (fastjson BrowserCompatible + QuoteFieldNames + MapSortField).
 */
export function encodeTopicRouteData(route: TopicRouteData, standardJson: boolean): Buffer {
  if (standardJson) return Buffer.from(escapeNonAscii(toFastjson(route)), 'utf8');
  const fast = {
    ...route,
    brokerDatas: route.brokerDatas.map((b) => ({ ...b, brokerAddrs: brokerAddrsToNumberKeyMap(b.brokerAddrs) })),
  };
  return Buffer.from(toFastjson(fast), 'utf8');
}

/** ClusterInfo, always with bare numeric brokerAddrs keys (GET_BROKER_CLUSTER_INFO). */
export function encodeClusterInfo(info: ClusterInfo): Buffer {
  const brokerAddrTable: Record<string, unknown> = {};
  for (const [name, b] of Object.entries(info.brokerAddrTable)) {
    brokerAddrTable[name] = { ...b, brokerAddrs: brokerAddrsToNumberKeyMap(b.brokerAddrs) };
  }
  return Buffer.from(toFastjson({ brokerAddrTable, clusterAddrTable: info.clusterAddrTable }), 'utf8');
}

function brokerAddrsToNumberKeyMap(addrs: Record<string, string>): NumberKeyMap<string> {
  return new NumberKeyMap(Object.entries(addrs).map(([id, addr]) => [Number(id), addr] as [number, string]));
}

function escapeNonAscii(s: string): string {
  return s.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Decodes a REGISTER_BROKER body: RegisterBrokerBody JSON, its compressed (zlib) form, or for brokers
 * older than V3_0_11 a bare TopicConfigSerializeWrapper. RocketMQ: RegisterBrokerBody#decode.
 */
export function decodeRegisterBrokerBody(body: Buffer | undefined, compressed: boolean, version: number): DecodedRegisterBrokerBody {
  if (!body || body.length === 0) {
    // Java: no body → DataVersion counter 0, timestamp 0, and no topic configs.
    return { topicConfigTable: null, dataVersion: { stateVersion: 0, timestamp: 0, counter: 0 }, filterServerList: [] };
  }
  if (compressed) return decodeCompressedRegisterBody(body);
  const parsed = parseBodyJson(body, 'RegisterBrokerBody');
  let wrapper: unknown;
  let filterServerList: unknown = [];
  if (version < V3_0_11 || (parsed.topicConfigSerializeWrapper === undefined && parsed.topicConfigTable !== undefined)) {
    wrapper = parsed;
  } else {
    wrapper = parsed.topicConfigSerializeWrapper ?? {};
    filterServerList = parsed.filterServerList ?? [];
  }
  if (!isObject(wrapper)) throw new BodyError('Failed to decode RegisterBrokerBody: topicConfigSerializeWrapper is not an object');
  const dataVersion = wrapper.dataVersion === undefined || wrapper.dataVersion === null
    ? { stateVersion: 0, timestamp: 0, counter: 0 }
    : toDataVersion(wrapper.dataVersion, 'RegisterBrokerBody dataVersion');
  const rawTable = wrapper.topicConfigTable ?? {};
  if (!isObject(rawTable)) throw new BodyError('Failed to decode RegisterBrokerBody: topicConfigTable is not an object');
  const topicConfigTable: Record<string, TopicConfig> = {};
  for (const [key, value] of Object.entries(rawTable)) {
    const config = toTopicConfig(key, value);
    topicConfigTable[config.topicName] = config;
  }
  return { topicConfigTable, dataVersion, filterServerList: toStringArray(filterServerList) };
}

/**
 * Compressed RegisterBrokerBody (zlib stream): i32 len + DataVersion JSON; i32 topic count; per topic
 * i32 len + "name readQ writeQ perm filterType [attributesJson]"; i32 len + filter server list JSON;
 * 5.x brokers append topic queue mappings, which we do not use.
 */
function decodeCompressedRegisterBody(body: Buffer): DecodedRegisterBrokerBody {
  let data: Buffer;
  try {
    data = inflateSync(body, { maxOutputLength: MAX_INFLATED_REGISTER_BODY });
  } catch (err) {
    throw new BodyError(`Failed to decode RegisterBrokerBody: compressed body does not inflate (${(err as Error).message})`);
  }
  let p = 0;
  const readChunk = (what: string): Buffer => {
    if (p + 4 > data.length) throw new BodyError(`Failed to decode RegisterBrokerBody: compressed body truncated at ${what}`);
    const len = data.readInt32BE(p);
    p += 4;
    if (len < 0 || p + len > data.length) throw new BodyError(`Failed to decode RegisterBrokerBody: compressed body truncated at ${what}`);
    const chunk = data.subarray(p, p + len);
    p += len;
    return chunk;
  };
  const dataVersion = toDataVersion(parseBodyJson(readChunk('dataVersion'), 'RegisterBrokerBody dataVersion'), 'dataVersion');
  if (p + 4 > data.length) throw new BodyError('Failed to decode RegisterBrokerBody: compressed body truncated at topic count');
  const count = data.readInt32BE(p);
  p += 4;
  if (count < 0) throw new BodyError('Failed to decode RegisterBrokerBody: negative topic count');
  const topicConfigTable: Record<string, TopicConfig> = {};
  for (let i = 0; i < count; i++) {
    const config = decodeTopicConfigText(readChunk(`topic config ${i}`).toString('utf8'));
    topicConfigTable[config.topicName] = config;
  }
  let filterServerList: string[] = [];
  if (p < data.length) {
    const text = readChunk('filter server list').toString('utf8');
    try {
      filterServerList = toStringArray(parseFastjson(text));
    } catch {
      throw new BodyError('Failed to decode RegisterBrokerBody: filter server list is not JSON');
    }
  }
  return { topicConfigTable, dataVersion, filterServerList };
}

/** RocketMQ TopicConfig#decode: "name readQ writeQ perm filterType [attributesJson]" (topicSysFlag, order lost). */
function decodeTopicConfigText(text: string): TopicConfig {
  const parts = text.split(' ');
  if (parts.length < 5) throw new BodyError(`Failed to decode RegisterBrokerBody: bad topic config "${text.slice(0, 200)}"`);
  const [name, read, write, perm, filterType] = parts as [string, string, string, string, string];
  const config = toTopicConfig(name, {
    topicName: name, readQueueNums: Number(read), writeQueueNums: Number(write), perm: Number(perm),
    topicFilterType: filterType,
  });
  if (parts.length > 5) {
    let attrs: unknown;
    try {
      attrs = JSON.parse(parts.slice(5).join(' '));
    } catch {
      throw new BodyError(`Failed to decode RegisterBrokerBody: bad attributes of topic ${name}`);
    }
    if (isObject(attrs)) config.attributes = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, String(v)]));
  }
  return config;
}

function parseBodyJson(body: Buffer, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseFastjson(body.toString('utf8'));
  } catch (err) {
    throw new BodyError(`Failed to decode ${what}: body is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(parsed)) throw new BodyError(`Failed to decode ${what}: body is not a JSON object`);
  return parsed;
}

function toDataVersion(v: unknown, what: string): DataVersion {
  if (!isObject(v)) throw new BodyError(`Failed to decode ${what}: not an object`);
  const num = (name: string): number => {
    const x = v[name];
    if (x === undefined || x === null) return 0;
    const n = typeof x === 'number' ? x : typeof x === 'string' ? Number(x) : NaN;
    if (!Number.isFinite(n)) throw new BodyError(`Failed to decode ${what}: ${name} is not a number`);
    return n;
  };
  return { stateVersion: num('stateVersion'), timestamp: num('timestamp'), counter: num('counter') };
}

/** A TopicConfig from JSON, with Java's field defaults (16/16 queues, perm 6, SINGLE_TAG). */
function toTopicConfig(key: string, v: unknown): TopicConfig {
  if (!isObject(v)) throw new BodyError(`Failed to decode RegisterBrokerBody: topic config ${key} is not an object`);
  const int = (name: string, fallback: number): number => {
    const x = v[name];
    if (x === undefined || x === null) return fallback;
    const n = typeof x === 'number' ? x : typeof x === 'string' ? Number(x) : NaN;
    if (!Number.isInteger(n)) throw new BodyError(`Failed to decode RegisterBrokerBody: ${name} of topic ${key} is not an integer`);
    return n;
  };
  const topicName = typeof v.topicName === 'string' && v.topicName !== '' ? v.topicName : key;
  const filterType: TopicFilterType = v.topicFilterType === 'MULTI_TAG' ? 'MULTI_TAG' : 'SINGLE_TAG';
  const config: TopicConfig = {
    topicName,
    readQueueNums: int('readQueueNums', 16),
    writeQueueNums: int('writeQueueNums', 16),
    perm: int('perm', 6),
    topicFilterType: filterType,
    topicSysFlag: int('topicSysFlag', 0),
    order: v.order === true || v.order === 'true',
  };
  if (isObject(v.attributes)) {
    config.attributes = Object.fromEntries(Object.entries(v.attributes).map(([k, x]) => [k, String(x)]));
  }
  return config;
}

function toStringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
