/**
 * The console's remoting client: a RemotingClient with the two per-connection policies at the one
 * place every request passes (AnotherRedisDesktopManager's redisClient.js write list; ours is the
 * request-code table).
 *
 * - Read-only: a request whose code changes the cluster is refused before it is sent, whatever
 *   handler, job or sampler sent it. dispatch.ts refuses write channels earlier with a clearer
 *   message; this is the floor under it.
 * - Broker address rewrites: brokers behind NAT or in containers register addresses the desktop
 *   cannot reach (172.17.0.2:10911). Every connection goes to the rewritten address instead; the
 *   pages keep showing the address the cluster advertises.
 */
import { RemotingClient, type RemotingClientOptions } from '../remoting/remoting-client.js';
import type { RemotingConnection } from '../remoting/remoting-connection.js';
import type { RemotingCommand } from '../remoting/remoting-command.js';
import { RequestCode } from '../remoting/request-code.js';
import { ConsoleError } from './contract/errors.js';
import type { AddressRewrite } from './contract/admin-dto.js';

/**
 * Request codes that change a cluster: sends, offsets, topic/group/broker configuration, KV config,
 * transactions, broker permissions. Reads (routes, stats, pulls without offset commit, queries)
 * are not here. RocketMQ: RequestCode.
 */
export const WRITE_REQUEST_CODES: ReadonlySet<number> = new Set([
  RequestCode.SEND_MESSAGE,
  RequestCode.SEND_MESSAGE_V2,
  RequestCode.SEND_BATCH_MESSAGE,
  RequestCode.CONSUMER_SEND_MSG_BACK,
  RequestCode.END_TRANSACTION,
  RequestCode.UPDATE_CONSUMER_OFFSET,
  RequestCode.UPDATE_AND_CREATE_TOPIC,
  RequestCode.DELETE_TOPIC_IN_BROKER,
  RequestCode.DELETE_TOPIC_IN_NAMESRV,
  RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
  RequestCode.DELETE_SUBSCRIPTIONGROUP,
  RequestCode.UPDATE_BROKER_CONFIG,
  RequestCode.PUT_KV_CONFIG,
  RequestCode.DELETE_KV_CONFIG,
  RequestCode.WIPE_WRITE_PERM_OF_BROKER,
  RequestCode.ADD_WRITE_PERM_OF_BROKER,
  RequestCode.RESET_CONSUMER_CLIENT_OFFSET,
  RequestCode.INVOKE_BROKER_TO_RESET_OFFSET,
  RequestCode.CONSUME_MESSAGE_DIRECTLY,
  RequestCode.REGISTER_BROKER,
  RequestCode.UNREGISTER_BROKER,
  RequestCode.LOCK_BATCH_MQ,
  RequestCode.UNLOCK_BATCH_MQ,
]);

const CODE_NAMES = new Map<number, string>(Object.entries(RequestCode).map(([name, code]) => [code, name]));

export interface ClientPolicy {
  /** Read at every request, so switching a connection to read-only takes effect at once. */
  readOnly(): boolean;
  rewrites(): readonly AddressRewrite[];
  /** For the error message. */
  connectionName: string;
}

/** `host:port` → [host, port]; IPv6 literals keep their brackets. */
function splitHostPort(addr: string): [string, string | null] {
  const i = addr.lastIndexOf(':');
  if (i <= 0 || addr.endsWith(']')) return [addr, null];
  return [addr.slice(0, i), addr.slice(i + 1)];
}

/** The address to connect to: the first rule whose `from` matches (host:port exactly, or the host alone), else `addr`. */
export function rewriteAddress(addr: string, rules: readonly AddressRewrite[]): string {
  const [host, port] = splitHostPort(addr);
  for (const rule of rules) {
    const [fromHost, fromPort] = splitHostPort(rule.from);
    if (fromHost.toLowerCase() !== host.toLowerCase()) continue;
    if (fromPort !== null && fromPort !== port) continue;
    const [toHost, toPort] = splitHostPort(rule.to);
    const finalPort = toPort ?? port;
    return finalPort === null ? toHost : `${toHost}:${finalPort}`;
  }
  return addr;
}

export class ReadOnlyRefusal extends ConsoleError {
  constructor(connectionName: string, code: number) {
    super('FORBIDDEN', `Connection "${connectionName}" is read-only: ${CODE_NAMES.get(code) ?? `request ${code}`} was not sent; nothing was changed`);
  }
}

export class ConsoleRemotingClient extends RemotingClient {
  constructor(options: RemotingClientOptions, private readonly policy: ClientPolicy) {
    super(options);
  }

  override invoke(addr: string, request: RemotingCommand, timeoutMs?: number): Promise<RemotingCommand> {
    if (this.policy.readOnly() && WRITE_REQUEST_CODES.has(request.code)) {
      return Promise.reject(new ReadOnlyRefusal(this.policy.connectionName, request.code));
    }
    return super.invoke(addr, request, timeoutMs);
  }

  override invokeOneway(addr: string, request: RemotingCommand): Promise<void> {
    if (this.policy.readOnly() && WRITE_REQUEST_CODES.has(request.code)) {
      return Promise.reject(new ReadOnlyRefusal(this.policy.connectionName, request.code));
    }
    return super.invokeOneway(addr, request);
  }

  override getConnection(addr: string): Promise<RemotingConnection> {
    return super.getConnection(rewriteAddress(addr, this.policy.rewrites()));
  }

  override closeConnection(addr: string): void {
    super.closeConnection(rewriteAddress(addr, this.policy.rewrites()));
  }
}
