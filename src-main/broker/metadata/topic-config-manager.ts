/**
 * Topic configs of one broker, in NeDB. RocketMQ: TopicConfigManager (system topics created at start).
 */
import path from 'node:path';
import { NedbTable } from './nedb-table.js';
import type { TopicConfig } from '../namesrv/route-types.js';
import { Perm, SystemTopic } from './system-names.js';

export interface DataVersionValue {
  stateVersion: number;
  timestamp: number;
  counter: number;
}

export class TopicConfigManager {
  private readonly table: NedbTable<TopicConfig>;
  readonly dataVersion: DataVersionValue = { stateVersion: 0, timestamp: Date.now(), counter: 0 };

  constructor(metaDir: string, private readonly clusterName: string, private readonly brokerName: string,
    private readonly defaultTopicQueueNums: number) {
    this.table = new NedbTable<TopicConfig>(path.join(metaDir, 'topics.db'));
  }

  async load(): Promise<void> {
    await this.table.load();
    const sys = (name: string, queues: number, perm = Perm.READ | Perm.WRITE): void => {
      if (!this.table.has(name)) void this.table.put(name, makeTopicConfig(name, queues, perm));
    };
    sys(SystemTopic.AUTO_CREATE_TEMPLATE, this.defaultTopicQueueNums, Perm.INHERIT | Perm.READ | Perm.WRITE);
    sys(SystemTopic.SCHEDULE, 18);
    sys(SystemTopic.TRANS_HALF, 1);
    sys(SystemTopic.TRANS_OP_HALF, 1);
    sys(SystemTopic.TRANS_CHECK_MAX_TIME, 1);
    sys(SystemTopic.SELF_TEST, 1);
    sys(SystemTopic.OFFSET_MOVED_EVENT, 1);
    sys(SystemTopic.TRACE, 1);
    sys(this.clusterName, 16, Perm.INHERIT | Perm.READ | Perm.WRITE);
    sys(this.brokerName, 1, Perm.INHERIT | Perm.READ | Perm.WRITE);
    sys(`${this.clusterName}_REPLY_TOPIC`, 1);
    this.bump();
  }

  get(topic: string): TopicConfig | undefined {
    return this.table.get(topic);
  }

  all(): TopicConfig[] {
    return [...this.table.entries()].map(([, v]) => v);
  }

  upsert(config: TopicConfig): void {
    void this.table.put(config.topicName, config);
    this.bump();
  }

  remove(topic: string): boolean {
    if (!this.table.has(topic)) return false;
    void this.table.remove(topic);
    this.bump();
    return true;
  }

  /**
   * Auto-creates a topic on first send from its default (template) topic when that has INHERIT.
   * RocketMQ: TopicConfigManager#createTopicInSendMessageMethod.
   */
  createOnSend(topic: string, defaultTopic: string, clientQueueNums: number): TopicConfig | undefined {
    const template = this.table.get(defaultTopic);
    if (!template || (template.perm & Perm.INHERIT) === 0) return undefined;
    const queues = Math.max(1, Math.min(clientQueueNums > 0 ? clientQueueNums : template.writeQueueNums, template.writeQueueNums));
    const config = makeTopicConfig(topic, queues, template.perm & ~Perm.INHERIT);
    this.upsert(config);
    return config;
  }

  /** Retry and DLQ topics: created on demand with the given queue count, read-write. */
  createSystemLike(topic: string, queues: number, perm = Perm.READ | Perm.WRITE): TopicConfig {
    const existing = this.table.get(topic);
    if (existing) return existing;
    const config = makeTopicConfig(topic, queues, perm);
    this.upsert(config);
    return config;
  }

  async close(): Promise<void> {
    await this.table.close();
  }

  private bump(): void {
    this.dataVersion.counter++;
    this.dataVersion.timestamp = Date.now();
  }
}

export function makeTopicConfig(topicName: string, queues: number, perm: number, order = false): TopicConfig {
  return {
    topicName,
    readQueueNums: queues,
    writeQueueNums: queues,
    perm,
    topicFilterType: 'SINGLE_TAG',
    topicSysFlag: 0,
    order,
  };
}
