/** System topic/group names and permission bits. RocketMQ: TopicValidator, MixAll, PermName. */
export const Perm = { PRIORITY: 0x8, READ: 0x4, WRITE: 0x2, INHERIT: 0x1 } as const;

export const SystemTopic = {
  AUTO_CREATE_TEMPLATE: 'TBW102',
  SCHEDULE: 'SCHEDULE_TOPIC_XXXX',
  TRANS_HALF: 'RMQ_SYS_TRANS_HALF_TOPIC',
  TRANS_OP_HALF: 'RMQ_SYS_TRANS_OP_HALF_TOPIC',
  TRANS_CHECK_MAX_TIME: 'TRANS_CHECK_MAX_TIME_TOPIC',
  SELF_TEST: 'SELF_TEST_TOPIC',
  OFFSET_MOVED_EVENT: 'OFFSET_MOVED_EVENT',
  TRACE: 'RMQ_SYS_TRACE_TOPIC',
} as const;

export const RETRY_GROUP_TOPIC_PREFIX = '%RETRY%';
export const DLQ_GROUP_TOPIC_PREFIX = '%DLQ%';

/** Topics clients may not send to (TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET). */
export const NOT_ALLOWED_SEND_TOPICS = new Set<string>([
  SystemTopic.SCHEDULE, SystemTopic.TRANS_HALF, SystemTopic.TRANS_OP_HALF, SystemTopic.TRANS_CHECK_MAX_TIME,
  SystemTopic.SELF_TEST, SystemTopic.OFFSET_MOVED_EVENT,
]);

const TOPIC_NAME = /^[%|a-zA-Z0-9_-]+$/;

/** Returns why a topic name is invalid, or null. RocketMQ: TopicValidator.validateTopic. */
export function topicNameProblem(topic: string): string | null {
  if (!topic) return 'the specified topic is blank';
  if (!TOPIC_NAME.test(topic)) return `the specified topic[${topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$`;
  const limit = topic.startsWith(RETRY_GROUP_TOPIC_PREFIX) || topic.startsWith(DLQ_GROUP_TOPIC_PREFIX) ? 255 : 127;
  if (topic.length > limit) return `the specified topic is longer than topic max length ${limit}`;
  return null;
}

export function groupNameProblem(group: string): string | null {
  if (!group) return 'the specified group is blank';
  if (!/^[%|a-zA-Z0-9_-]+$/.test(group)) return `the specified group[${group}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$`;
  if (group.length > 120) return 'the specified group is longer than group max length 120';
  return null;
}

export function isSystemTopic(topic: string): boolean {
  return Object.values(SystemTopic).includes(topic as never) || topic.startsWith('rmq_sys_') || topic === 'TBW102';
}

export const retryTopic = (group: string): string => `${RETRY_GROUP_TOPIC_PREFIX}${group}`;
export const dlqTopic = (group: string): string => `${DLQ_GROUP_TOPIC_PREFIX}${group}`;
