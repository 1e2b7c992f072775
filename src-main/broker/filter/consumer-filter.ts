/**
 * Chooses and applies a consumer's filter on the broker. RocketMQ: ExpressionMessageFilter,
 * ConsumerFilterManager, PullMessageProcessor (filter selection), ClientManageProcessor#checkClientConfig.
 *
 * TAG (or empty) expressions filter on the tag hash in the consume queue (tag-filter.ts). SQL92
 * expressions need `enablePropertyFilter` on the broker; they pass every consume-queue entry (no
 * bloom filter) and are evaluated against each candidate message's properties, read from the
 * stored record. The store's getMessage only sees tag codes, so SQL92 pulls read candidates page
 * by page here and keep the matching ones, up to maxMsgNums, the end of the queue, a byte limit,
 * or a scan budget (RocketMQ's maxFilterMessageCount: 16000 bytes of consume queue = 800 entries).
 */
import { ResponseCode } from '../../remoting/response-code.js';
import { checkStoredRecord } from '../store/message-codec.js';
import type { GetMessageResult, MessageStore } from '../store/message-store.js';
import { parseTagExpression, type TagFilter } from '../processor/tag-filter.js';
import { compileSql92, Sql92ParseError, type Sql92Expression } from './sql92-parser.js';
import { matchesSql92 } from './sql92-evaluator.js';

export const ExpressionType = { TAG: 'TAG', SQL92: 'SQL92' } as const;

/** ExpressionType.isTagType: null, empty or TAG. */
export const isTagType = (type: string | undefined | null): boolean => !type || type === ExpressionType.TAG;

export type ConsumerFilter =
  | { kind: 'TAG'; tag: TagFilter }
  | { kind: 'SQL92'; sql: Sql92Expression; /** matches every tag code: arrivals wake held pulls */ tag: TagFilter };

export interface FilterRefusal {
  code: number;
  remark: string;
}

const MATCH_ALL_TAGS = parseTagExpression('*');

/**
 * The filter for a subscription, or why it cannot be served: SYSTEM_ERROR when the broker does not
 * support the type (as RocketMQ answers), SUBSCRIPTION_PARSE_FAILED when the expression is bad.
 */
export function buildConsumerFilter(expressionType: string | undefined, expression: string | undefined,
  enablePropertyFilter: boolean): ConsumerFilter | FilterRefusal {
  if (isTagType(expressionType)) return { kind: 'TAG', tag: parseTagExpression(expression) };
  if (expressionType !== ExpressionType.SQL92) {
    return { code: ResponseCode.SUBSCRIPTION_PARSE_FAILED, remark: `unknown filter expression type ${expressionType}; use TAG or SQL92` };
  }
  if (!enablePropertyFilter) {
    return { code: ResponseCode.SYSTEM_ERROR, remark: `The broker does not support consumer to filter message by ${expressionType} (enablePropertyFilter is false)` };
  }
  try {
    return { kind: 'SQL92', sql: compileSql92(expression ?? ''), tag: MATCH_ALL_TAGS };
  } catch (err) {
    if (err instanceof Sql92ParseError) {
      return { code: ResponseCode.SUBSCRIPTION_PARSE_FAILED, remark: `parse the consumer's subscription failed: ${err.message}` };
    }
    throw err;
  }
}

export const isRefusal = (f: ConsumerFilter | FilterRefusal): f is FilterRefusal => 'code' in f;

/** At most this many candidates are read and evaluated per pull. */
export const SQL92_SCAN_BUDGET = 800;
const PAGE = 32;
const MAX_TRANSFER_BYTES = 256 * 1024;

/** getMessage for a SQL92 subscription: candidates read in pages, kept when the selector matches. */
export function getMessageBySql(store: MessageStore, topic: string, queueId: number, offset: number, maxMsgNums: number,
  sql: Sql92Expression): GetMessageResult {
  const wanted = Math.max(1, maxMsgNums);
  let page = store.getMessage(topic, queueId, offset, Math.min(PAGE, SQL92_SCAN_BUDGET));
  if (page.status !== 'FOUND') return page;
  const out: GetMessageResult = { ...page, messages: [], status: 'NO_MATCHED_MESSAGE' };
  let scanned = 0;
  let bytes = 0;
  for (;;) {
    let next = page.nextBeginOffset;
    let stopped = false;
    for (const raw of page.messages) {
      const check = checkStoredRecord(raw, 0, raw.length, false);
      if (check.kind !== 'MESSAGE') {
        scanned++;
        continue;
      }
      const { queueOffset, properties } = check.info;
      if (out.messages.length > 0 && bytes + raw.length > MAX_TRANSFER_BYTES) {
        next = queueOffset; // not taken: the next pull starts with it
        stopped = true;
        break;
      }
      scanned++;
      if (matchesSql92(sql, properties)) {
        out.messages.push(raw);
        bytes += raw.length;
        if (out.messages.length >= wanted) {
          next = queueOffset + 1;
          stopped = true;
          break;
        }
      }
    }
    out.nextBeginOffset = next;
    out.minOffset = page.minOffset;
    out.maxOffset = page.maxOffset;
    if (stopped || scanned >= SQL92_SCAN_BUDGET || next >= page.maxOffset) break;
    page = store.getMessage(topic, queueId, next, Math.min(PAGE, SQL92_SCAN_BUDGET - scanned));
    if (page.status !== 'FOUND') {
      // Nothing more to read (or only holes / removed entries): keep the furthest offset known.
      if (page.nextBeginOffset > out.nextBeginOffset && page.status !== 'OFFSET_OVERFLOW_BADLY') out.nextBeginOffset = page.nextBeginOffset;
      break;
    }
  }
  if (out.messages.length > 0) out.status = 'FOUND';
  return out;
}

/**
 * Properties of the message that just arrived at `queueOffset`, so a held SQL92 pull is woken only
 * by a matching arrival (RocketMQ PullRequestHoldService checks properties too); null if unreadable.
 */
export function arrivedProperties(store: MessageStore, topic: string, queueId: number, queueOffset: number): Record<string, string> | null {
  const r = store.getMessage(topic, queueId, queueOffset, 1);
  const raw = r.status === 'FOUND' ? r.messages[0] : undefined;
  if (!raw) return null;
  const check = checkStoredRecord(raw, 0, raw.length, false);
  return check.kind === 'MESSAGE' && check.info.queueOffset === queueOffset ? check.info.properties : null;
}
