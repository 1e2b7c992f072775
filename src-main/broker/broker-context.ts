/**
 * What request processors see of a broker node: its config, store, metadata and client registry.
 * Processors are functions over this context, one file per request family.
 */
import type { BrokerConfig } from './config/broker-config.js';
import type { MessageStore } from './store/message-store.js';
import type { TopicConfigManager } from './metadata/topic-config-manager.js';
import type { SubscriptionGroupManager } from './metadata/subscription-group-manager.js';
import type { ConsumerOffsetManager } from './metadata/consumer-offset-manager.js';
import type { ClientRegistry } from './client/client-registry.js';
import type { BrokerStats } from './stats/broker-stats.js';
import type { ReplicaWaiter } from './ha/ha-service.js';
import type { ScheduleMessageService } from './schedule/schedule-message-service.js';

export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly store: MessageStore;
  readonly topics: TopicConfigManager;
  readonly groups: SubscriptionGroupManager;
  readonly offsets: ConsumerOffsetManager;
  readonly clients: ClientRegistry;
  readonly stats: BrokerStats;
  /** "ip:port" this broker serves on (its store host). */
  readonly address: string;
  readonly bootTimestamp: number;
  /** Delay of each level in ms, level 1 first (messageDelayLevel). */
  readonly delayLevels: number[];
  /** Delay-level and exact-time delivery (delivers on masters; offsets and stats on every node). */
  readonly schedule?: ScheduleMessageService | null;
  /** Replication: SYNC_MASTER sends wait on it for a slave's ack (absent in contexts built without HA). */
  readonly ha?: ReplicaWaiter;
  /** Re-registers with every NameServer at once (after topic changes). */
  registerToNameServers(): void;
  /** True while the group holds an unexpired orderly-consumption queue lock (RebalanceLockManager). */
  hasUnexpiredQueueLocks(group: string): boolean;
}
