/**
 * Client trace records in RMQ_SYS_TRACE_TOPIC message bodies (reference §12; RocketMQ
 * TraceDataEncoder#decoderFromTraceDataString). A body is UTF-8 text of records, each ended by
 * 0x02 (FIELD_SPLITOR), fields separated by 0x01 (CONTENT_SPLITOR). Unknown or short records are
 * skipped, not fatal: a body is client data.
 */
import type { TraceRecord } from '../contract/ops-dto.js';

export const CONTENT_SPLITOR = '\u0001';
export const FIELD_SPLITOR = '\u0002';

const int = (s: string | undefined): number => {
  const n = Number(s);
  return Number.isFinite(n) ? n : 0;
};
const str = (s: string | undefined): string => s ?? '';
const bool = (s: string | undefined): boolean => s === 'true';

export function parseTraceRecord(text: string): TraceRecord | null {
  const f = text.split(CONTENT_SPLITOR);
  switch (f[0]) {
    case 'Pub':
      if (f.length < 13) return null;
      return {
        type: 'Pub', timeStamp: int(f[1]), regionId: str(f[2]), groupName: str(f[3]), topic: str(f[4]), msgId: str(f[5]),
        tags: str(f[6]), keys: str(f[7]), storeHost: str(f[8]), bodyLength: int(f[9]), costTime: int(f[10]), msgType: int(f[11]),
        // 13 fields: no offsetMsgId, [12] is success; 14: [12] offsetMsgId, [13] success; 15+: [14] clientHost.
        offsetMsgId: f.length >= 14 ? str(f[12]) || null : null,
        success: f.length >= 14 ? bool(f[13]) : bool(f[12]),
        clientHost: f.length >= 15 ? str(f[14]) || null : null,
      };
    case 'SubBefore':
      if (f.length < 8) return null;
      return {
        type: 'SubBefore', timeStamp: int(f[1]), regionId: str(f[2]), groupName: str(f[3]), requestId: str(f[4]), msgId: str(f[5]),
        retryTimes: int(f[6]), keys: str(f[7]),
      };
    case 'SubAfter':
      if (f.length < 6) return null;
      return {
        type: 'SubAfter', requestId: str(f[1]), msgId: str(f[2]), costTime: int(f[3]), success: bool(f[4]), keys: str(f[5]),
        contextCode: f.length >= 7 ? int(f[6]) : null,
        timeStamp: f.length >= 9 ? int(f[7]) : null,
        groupName: f.length >= 9 ? str(f[8]) : null,
      };
    case 'EndTransaction':
      if (f.length < 13) return null;
      return {
        type: 'EndTransaction', timeStamp: int(f[1]), regionId: str(f[2]), groupName: str(f[3]), topic: str(f[4]), msgId: str(f[5]),
        tags: str(f[6]), keys: str(f[7]), storeHost: str(f[8]), msgType: int(f[9]), transactionId: str(f[10]),
        transactionState: str(f[11]), fromTransactionCheck: bool(f[12]),
      };
    case 'Recall':
      if (f.length < 7) return null;
      return {
        type: 'Recall', timeStamp: int(f[1]), regionId: str(f[2]), groupName: str(f[3]), topic: str(f[4]), msgId: str(f[5]),
        success: bool(f[6]),
      };
    default:
      return null;
  }
}

/** Every record of one trace message body. */
export function parseTraceBody(body: string): TraceRecord[] {
  const out: TraceRecord[] = [];
  for (const part of body.split(FIELD_SPLITOR)) {
    const text = part.replace(/^[\r\n]+/, '');
    if (text.length === 0) continue;
    const r = parseTraceRecord(text);
    if (r) out.push(r);
  }
  return out;
}

/** Encodes records the way the Java client does (TraceDataEncoder#encoderFromContextBean); used by tests and the bench. */
export function encodeTraceRecord(r: TraceRecord): string {
  const join = (xs: Array<string | number | boolean | null>): string => xs.map((x) => (x === null ? '' : String(x))).join(CONTENT_SPLITOR) + FIELD_SPLITOR;
  switch (r.type) {
    case 'Pub':
      return join(['Pub', r.timeStamp, r.regionId, r.groupName, r.topic, r.msgId, r.tags, r.keys, r.storeHost, r.bodyLength, r.costTime,
        r.msgType, r.offsetMsgId ?? '', r.success, ...(r.clientHost ? [r.clientHost] : [])]);
    case 'SubBefore':
      return join(['SubBefore', r.timeStamp, r.regionId, r.groupName, r.requestId, r.msgId, r.retryTimes, r.keys]);
    case 'SubAfter':
      return join(['SubAfter', r.requestId, r.msgId, r.costTime, r.success, r.keys, r.contextCode ?? 0,
        ...(r.timeStamp !== null && r.groupName !== null ? [r.timeStamp, r.groupName] : [])]);
    case 'EndTransaction':
      return join(['EndTransaction', r.timeStamp, r.regionId, r.groupName, r.topic, r.msgId, r.tags, r.keys, r.storeHost, r.msgType,
        r.transactionId, r.transactionState, r.fromTransactionCheck]);
    case 'Recall':
      return join(['Recall', r.timeStamp, r.regionId, r.groupName, r.topic, r.msgId, r.success]);
    default: {
      const never: never = r;
      throw new Error(`unknown trace record ${String((never as { type: string }).type)}`);
    }
  }
}
