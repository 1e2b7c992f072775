/** Subscription group configs in NeDB. RocketMQ: SubscriptionGroupManager, SubscriptionGroupConfig. */
import path from 'node:path';
import { NedbTable } from './nedb-table.js';
import type { DataVersionValue } from './topic-config-manager.js';

export interface SubscriptionGroupConfig {
  groupName: string;
  consumeEnable: boolean;
  consumeFromMinEnable: boolean;
  consumeBroadcastEnable: boolean;
  retryQueueNums: number;
  retryMaxTimes: number;
  brokerId: number;
  whichBrokerWhenConsumeSlowly: number;
  notifyConsumerIdsChangedEnable: boolean;
  consumeMessageOrderly?: boolean;
}

export function defaultGroupConfig(groupName: string): SubscriptionGroupConfig {
  return {
    groupName,
    consumeEnable: true,
    consumeFromMinEnable: true,
    consumeBroadcastEnable: true,
    retryQueueNums: 1,
    retryMaxTimes: 16,
    brokerId: 0,
    whichBrokerWhenConsumeSlowly: 1,
    notifyConsumerIdsChangedEnable: true,
    consumeMessageOrderly: false,
  };
}

export class SubscriptionGroupManager {
  private readonly table: NedbTable<SubscriptionGroupConfig>;
  readonly dataVersion: DataVersionValue = { stateVersion: 0, timestamp: Date.now(), counter: 0 };

  constructor(metaDir: string) {
    this.table = new NedbTable<SubscriptionGroupConfig>(path.join(metaDir, 'subscription-groups.db'));
  }

  async load(): Promise<void> {
    await this.table.load();
  }

  get(group: string): SubscriptionGroupConfig | undefined {
    return this.table.get(group);
  }

  all(): SubscriptionGroupConfig[] {
    return [...this.table.entries()].map(([, v]) => v);
  }

  upsert(config: SubscriptionGroupConfig): void {
    void this.table.put(config.groupName, { ...defaultGroupConfig(config.groupName), ...config });
    this.dataVersion.counter++;
    this.dataVersion.timestamp = Date.now();
  }

  /** Finds the group, creating it with defaults when auto-creation is on (RocketMQ findSubscriptionGroupConfig). */
  findOrCreate(group: string, autoCreate: boolean): SubscriptionGroupConfig | undefined {
    const existing = this.table.get(group);
    if (existing || !autoCreate) return existing;
    const config = defaultGroupConfig(group);
    this.upsert(config);
    return config;
  }

  remove(group: string): boolean {
    if (!this.table.has(group)) return false;
    void this.table.remove(group);
    this.dataVersion.counter++;
    return true;
  }

  async close(): Promise<void> {
    await this.table.close();
  }
}
