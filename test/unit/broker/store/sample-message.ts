/** A fully specified stored message for the codec tests; each test overrides only what it varies. */
import type { EncodableMessage } from '../../../../src-main/broker/store/message-codec.js';

export function sampleMessage(overrides: Partial<EncodableMessage> = {}): EncodableMessage {
  return {
    topic: 'TopicTest',
    queueId: 3,
    flag: 7,
    body: Buffer.from('hello world'),
    properties: { TAGS: 'TagA', KEYS: 'k1 k2', UNIQ_KEY: '0A0B0C0D00002A9F0000000000000001' },
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_123,
    bornHost: '192.168.1.20:50123',
    storeTimestamp: 1_700_000_000_456,
    storeHost: '127.0.0.1:10911',
    reconsumeTimes: 2,
    preparedTransactionOffset: 0,
    queueOffset: 42,
    commitLogOffset: 2 ** 40 + 17,
    ...overrides,
  };
}
