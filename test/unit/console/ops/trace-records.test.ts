/** Client trace records (reference §12): every record type, field counts, separators, junk. */
import { describe, expect, it } from 'vitest';
import { CONTENT_SPLITOR as C, FIELD_SPLITOR as F, encodeTraceRecord, parseTraceBody, parseTraceRecord } from '../../../../src-main/console/ops/trace-records.js';
import type { TraceRecord } from '../../../../src-main/console/contract/ops-dto.js';

const line = (...fields: Array<string | number | boolean>): string => fields.join(C);

describe('parseTraceRecord', () => {
  it('reads a Pub record with 13, 14 and 15 fields', () => {
    const base = ['Pub', 1700000000000, 'DefaultRegion', 'PID_A', 'TopicA', 'UNIQ1', 'TagA', 'k1 k2', '10.0.0.1:10911', 120, 3, 0];
    expect(parseTraceRecord(line(...base, 'true'))).toMatchObject({ type: 'Pub', offsetMsgId: null, success: true, clientHost: null, costTime: 3 });
    expect(parseTraceRecord(line(...base, 'OFFSETID', 'false'))).toMatchObject({ offsetMsgId: 'OFFSETID', success: false, clientHost: null });
    expect(parseTraceRecord(line(...base, 'OFFSETID', 'true', '10.0.0.9'))).toMatchObject({
      type: 'Pub', timeStamp: 1700000000000, regionId: 'DefaultRegion', groupName: 'PID_A', topic: 'TopicA', msgId: 'UNIQ1', tags: 'TagA',
      keys: 'k1 k2', storeHost: '10.0.0.1:10911', bodyLength: 120, costTime: 3, msgType: 0, offsetMsgId: 'OFFSETID', success: true,
      clientHost: '10.0.0.9',
    });
  });

  it('reads SubBefore and SubAfter (with and without the non-cloud tail)', () => {
    expect(parseTraceRecord(line('SubBefore', 1, 'r', 'GID', 'REQ', 'UNIQ1', 2, 'k1'))).toEqual({
      type: 'SubBefore', timeStamp: 1, regionId: 'r', groupName: 'GID', requestId: 'REQ', msgId: 'UNIQ1', retryTimes: 2, keys: 'k1',
    });
    expect(parseTraceRecord(line('SubAfter', 'REQ', 'UNIQ1', 15, 'false', 'k1', 2, 99, 'GID'))).toEqual({
      type: 'SubAfter', requestId: 'REQ', msgId: 'UNIQ1', costTime: 15, success: false, keys: 'k1', contextCode: 2, timeStamp: 99, groupName: 'GID',
    });
    expect(parseTraceRecord(line('SubAfter', 'REQ', 'UNIQ1', 15, 'true', 'k1'))).toMatchObject({ contextCode: null, timeStamp: null, groupName: null });
  });

  it('reads EndTransaction and Recall', () => {
    expect(parseTraceRecord(line('EndTransaction', 5, 'r', 'PID_TX', 'T', 'U', 'tag', 'k', 'h:1', 1, 'U', 'COMMIT_MESSAGE', 'true'))).toMatchObject({
      type: 'EndTransaction', transactionState: 'COMMIT_MESSAGE', fromTransactionCheck: true, msgType: 1,
    });
    expect(parseTraceRecord(line('Recall', 5, 'r', 'G', 'T', 'U', 'true'))).toMatchObject({ type: 'Recall', success: true });
  });

  it('refuses unknown types and short records', () => {
    expect(parseTraceRecord(line('Nope', 1, 2))).toBeNull();
    expect(parseTraceRecord(line('Pub', 1, 'r'))).toBeNull();
    expect(parseTraceRecord('')).toBeNull();
  });
});

describe('parseTraceBody', () => {
  it('splits a body of several records and skips junk between them', () => {
    const body = line('SubBefore', 1, 'r', 'G', 'REQ', 'U', 0, 'k') + F + '\n' + 'garbage' + F
      + line('SubAfter', 'REQ', 'U', 7, 'true', 'k', 0, 8, 'G') + F;
    const records = parseTraceBody(body);
    expect(records.map((r) => r.type)).toEqual(['SubBefore', 'SubAfter']);
  });

  it('round-trips what encodeTraceRecord writes', () => {
    const records: TraceRecord[] = [
      { type: 'Pub', timeStamp: 1, regionId: 'r', groupName: 'P', topic: 'T', msgId: 'U', tags: 't', keys: 'k', storeHost: 'h:1', bodyLength: 3, costTime: 2, msgType: 0, offsetMsgId: 'O', success: true, clientHost: 'c' },
      { type: 'SubBefore', timeStamp: 2, regionId: 'r', groupName: 'G', requestId: 'R', msgId: 'U', retryTimes: 1, keys: 'k' },
      { type: 'SubAfter', requestId: 'R', msgId: 'U', costTime: 4, success: true, keys: 'k', contextCode: 0, timeStamp: 6, groupName: 'G' },
      { type: 'EndTransaction', timeStamp: 3, regionId: 'r', groupName: 'P', topic: 'T', msgId: 'U', tags: 't', keys: 'k', storeHost: 'h:1', msgType: 1, transactionId: 'U', transactionState: 'ROLLBACK_MESSAGE', fromTransactionCheck: false },
      { type: 'Recall', timeStamp: 4, regionId: 'r', groupName: 'P', topic: 'T', msgId: 'U', success: false },
    ];
    expect(parseTraceBody(records.map(encodeTraceRecord).join(''))).toEqual(records);
  });
});
