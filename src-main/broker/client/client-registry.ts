/**
 * Producer and consumer groups with their live clients, from heartbeats.
 * RocketMQ: ConsumerManager, ProducerManager, ConsumerGroupInfo. A client is dropped when its
 * connection closes or it has been silent past the expiry; consumers of a changed group are told
 * with NOTIFY_CONSUMER_IDS_CHANGED (oneway) so they rebalance at once.
 */
import type { RemotingConnection } from '../../remoting/remoting-connection.js';
import { createRequest } from '../../remoting/remoting-command.js';
import { RequestCode } from '../../remoting/request-code.js';
import type { ConsumerData, SubscriptionData } from './client-types.js';

export interface ClientChannel {
  clientId: string;
  connection: RemotingConnection;
  language: string;
  version: number;
  lastUpdate: number;
}

export interface ConsumerGroupInfo {
  groupName: string;
  consumeType: string;
  messageModel: string;
  consumeFromWhere: string;
  subscriptions: Map<string, SubscriptionData>;
  clients: Map<string, ClientChannel>;
  lastUpdate: number;
}

export class ClientRegistry {
  readonly consumers = new Map<string, ConsumerGroupInfo>();
  readonly producers = new Map<string, Map<string, ClientChannel>>();
  private readonly watched = new WeakSet<RemotingConnection>();

  registerProducer(group: string, client: ClientChannel): void {
    let m = this.producers.get(group);
    if (!m) {
      m = new Map();
      this.producers.set(group, m);
    }
    m.set(client.clientId, client);
    this.watch(client.connection);
  }

  /** Returns true when the group's membership or subscriptions changed. */
  registerConsumer(data: ConsumerData, client: ClientChannel): boolean {
    let info = this.consumers.get(data.groupName);
    let changed = false;
    if (!info) {
      info = {
        groupName: data.groupName,
        consumeType: data.consumeType,
        messageModel: data.messageModel,
        consumeFromWhere: data.consumeFromWhere,
        subscriptions: new Map(),
        clients: new Map(),
        lastUpdate: Date.now(),
      };
      this.consumers.set(data.groupName, info);
    }
    info.consumeType = data.consumeType;
    info.messageModel = data.messageModel;
    info.consumeFromWhere = data.consumeFromWhere;
    info.lastUpdate = Date.now();
    const prev = info.clients.get(client.clientId);
    if (!prev || prev.connection !== client.connection) changed = true;
    info.clients.set(client.clientId, client);
    for (const sub of data.subscriptionDataSet) {
      const old = info.subscriptions.get(sub.topic);
      if (!old || old.subString !== sub.subString || old.expressionType !== sub.expressionType) changed = true;
      if (!old || sub.subVersion >= old.subVersion) info.subscriptions.set(sub.topic, sub);
    }
    this.watch(client.connection);
    return changed;
  }

  /** `notify`: the group's notifyConsumerIdsChangedEnable (RocketMQ ClientManageProcessor#unregisterClient). */
  unregister(clientId: string, producerGroup?: string, consumerGroup?: string, notify = true): void {
    if (producerGroup) this.producers.get(producerGroup)?.delete(clientId);
    if (consumerGroup) {
      const info = this.consumers.get(consumerGroup);
      if (info?.clients.delete(clientId) && notify) this.notifyChanged(info);
    }
  }

  consumerIds(group: string): string[] {
    return [...(this.consumers.get(group)?.clients.keys() ?? [])];
  }

  subscription(group: string, topic: string): SubscriptionData | undefined {
    return this.consumers.get(group)?.subscriptions.get(topic);
  }

  /** Online groups subscribed to a topic. */
  groupsOfTopic(topic: string): string[] {
    return [...this.consumers.values()].filter((g) => g.clients.size > 0 && g.subscriptions.has(topic)).map((g) => g.groupName);
  }

  expire(maxIdleMs: number, now = Date.now()): void {
    for (const info of this.consumers.values()) {
      let removed = false;
      for (const [id, c] of info.clients) {
        if (now - c.lastUpdate > maxIdleMs) {
          info.clients.delete(id);
          removed = true;
        }
      }
      if (removed) this.notifyChanged(info);
    }
    for (const m of this.producers.values()) {
      for (const [id, c] of m) if (now - c.lastUpdate > maxIdleMs) m.delete(id);
    }
  }

  notifyChanged(info: ConsumerGroupInfo): void {
    for (const c of info.clients.values()) {
      if (c.connection.closed) continue;
      c.connection.invokeOneway(createRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, { consumerGroup: info.groupName }));
    }
  }

  private watch(connection: RemotingConnection): void {
    if (this.watched.has(connection)) return;
    this.watched.add(connection);
    connection.onClose(() => this.onConnectionClosed(connection));
  }

  private onConnectionClosed(connection: RemotingConnection): void {
    for (const info of this.consumers.values()) {
      let removed = false;
      for (const [id, c] of info.clients) {
        if (c.connection === connection) {
          info.clients.delete(id);
          removed = true;
        }
      }
      if (removed) this.notifyChanged(info);
    }
    for (const m of this.producers.values()) {
      for (const [id, c] of m) if (c.connection === connection) m.delete(id);
    }
  }
}
