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
  /** Re-registers with every NameServer at once (after topic changes). */
  registerToNameServers(): void;
}
