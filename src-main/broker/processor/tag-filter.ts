/**
 * Tag subscription expressions: `*` (or empty) matches all; `A || B` matches those tags.
 * The broker filters on the tag hash kept in the consume queue; clients re-check the tag string
 * because hashes collide. RocketMQ: FilterAPI.buildSubscriptionData, ExpressionMessageFilter.
 */
import { tagsHashCode } from '../store/message-codec.js';

export interface TagFilter {
  all: boolean;
  tags: string[];
  codes: Set<number>;
}

export function parseTagExpression(expression: string | undefined): TagFilter {
  const expr = (expression ?? '').trim();
  if (expr === '' || expr === '*') return { all: true, tags: [], codes: new Set() };
  const tags = expr.split('||').map((t) => t.trim()).filter((t) => t.length > 0);
  if (tags.length === 0) return { all: true, tags: [], codes: new Set() };
  return { all: false, tags, codes: new Set(tags.map((t) => tagsHashCode(t))) };
}

export function tagFilterFn(filter: TagFilter): ((tagsCode: number) => boolean) | undefined {
  if (filter.all) return undefined;
  return (code) => filter.codes.has(code);
}
