/** dispatch.ts: parse → handler → safe error. Bad arguments never reach a handler. */
import { describe, expect, it, vi } from 'vitest';
import { createDispatcher, sanitizeMessage, toErrorBody, type ConsoleContext, type Handlers, type Session } from '../../../src-main/console/dispatch.js';
import { ConsoleError } from '../../../src-main/console/contract/errors.js';
import { AdminError } from '../../../src-main/remoting/admin/mq-admin.js';
import { RemotingConnectionError, RemotingTimeoutError } from '../../../src-main/remoting/remoting-connection.js';
import { ResponseCode } from '../../../src-main/remoting/response-code.js';
import { CHANNELS } from '../../../src-main/console/contract/channels.js';

const session: Session = { id: 's1', emit: () => undefined };
const context = { connections: {}, tails: {}, appInfo: () => ({ version: '1', mode: 'headless', namesrvAddr: null }) } as unknown as ConsoleContext;

function handlersWith(overrides: Partial<Handlers>): Handlers {
  const all = Object.fromEntries(CHANNELS.map((c) => [c, vi.fn(async () => ({ ok: true }))])) as unknown as Handlers;
  return { ...all, ...overrides };
}

describe('dispatch', () => {
  it('calls the handler with the parsed request (defaults filled) and the session', async () => {
    const topicList = vi.fn(async () => ({ topics: [], total: 0, partial: false, errors: [] }));
    const dispatch = createDispatcher(handlersWith({ 'topic:list': topicList }), context);
    const r = await dispatch('topic:list', { query: 'x' }, session);
    expect(r).toEqual({ ok: true, result: { topics: [], total: 0, partial: false, errors: [] } });
    expect(topicList).toHaveBeenCalledWith({ connectionId: 'embedded', includeSystem: false, query: 'x' }, expect.objectContaining({ session }));
  });

  it('treats a missing request as {}', async () => {
    const dispatch = createDispatcher(handlersWith({}), context);
    expect((await dispatch('app:info', undefined, session)).ok).toBe(true);
    expect((await dispatch('app:info', null, session)).ok).toBe(true);
  });

  it('refuses an unknown channel without calling anything', async () => {
    const handlers = handlersWith({});
    const dispatch = createDispatcher(handlers, context);
    const r = await dispatch('topic:drop-everything', {}, session);
    expect(r).toEqual({ ok: false, error: { code: 'UNKNOWN_CHANNEL', message: 'Unknown channel: topic:drop-everything' } });
    expect((await dispatch({ toString: () => 'x' }, {}, session)).ok).toBe(false);
  });

  it('answers BAD_REQUEST naming the field and the rule, and never calls the handler', async () => {
    const create = vi.fn(async () => ({ ok: true as const }));
    const dispatch = createDispatcher(handlersWith({ 'topic:create': create }), context);
    const cases: Array<[unknown, RegExp]> = [
      [{ topic: 'bad name' }, /topic: only letters/],
      [{ topic: 'T', readQueueNums: 'four' }, /readQueueNums/],
      [{ topic: 'T', sneaky: true }, /Unrecognized key.*sneaky/],
      ['a string', /expected object/i],
      [{ topic: 'T', perm: 7 }, /perm/],
    ];
    for (const [req, message] of cases) {
      const r = await dispatch('topic:create', req, session);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('BAD_REQUEST');
        expect(r.error.message).toMatch(/^Invalid topic:create request: /);
        expect(r.error.message).toMatch(message);
      }
    }
    expect(create).not.toHaveBeenCalled();
  });

  it('passes ConsoleError codes through', async () => {
    const dispatch = createDispatcher(handlersWith({ 'topic:detail': async () => { throw new ConsoleError('NOT_FOUND', 'Topic "T" does not exist'); } }), context);
    expect(await dispatch('topic:detail', { topic: 'T' }, session)).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: 'Topic "T" does not exist' } });
  });

  it('hides unexpected errors: no stack, no path, logged on the host', async () => {
    const log = vi.fn();
    const dispatch = createDispatcher(handlersWith({ 'topic:list': async () => { throw new TypeError('boom at /home/user/mqdesk/src/x.ts:12'); } }), context, log);
    const r = await dispatch('topic:list', {}, session);
    expect(r).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'Internal error (details are in the MQDesk log)' } });
    expect(log).toHaveBeenCalledWith(expect.stringContaining('boom'));
  });
});

describe('toErrorBody', () => {
  it('maps cluster answers, timeouts and refused connections', () => {
    expect(toErrorBody(new AdminError(ResponseCode.TOPIC_NOT_EXIST, 'topic[x] not exist', 105)))
      .toEqual({ code: 'NOT_FOUND', message: 'The cluster answered TOPIC_NOT_EXIST: topic[x] not exist' });
    expect(toErrorBody(new AdminError(ResponseCode.NO_PERMISSION, 'no', 17)).code).toBe('FORBIDDEN');
    expect(toErrorBody(new AdminError(ResponseCode.SYSTEM_ERROR, '', 17))).toEqual({ code: 'CLUSTER_ERROR', message: 'The cluster answered SYSTEM_ERROR' });
    expect(toErrorBody(new AdminError(999, 'odd', 17)).message).toBe('The cluster answered code 999: odd');
    expect(toErrorBody(new RemotingTimeoutError('127.0.0.1:1', 17, 5)).code).toBe('TIMEOUT');
    expect(toErrorBody(new RemotingConnectionError('connect to 127.0.0.1:1 failed: ECONNREFUSED'))).toEqual({
      code: 'UNREACHABLE', message: 'connect to 127.0.0.1:1 failed: ECONNREFUSED',
    });
    expect(toErrorBody('a string').code).toBe('INTERNAL');
  });

  it('masks file paths and caps the length', () => {
    expect(sanitizeMessage('cannot open /var/lib/mqdesk/store/00000 now')).toBe('cannot open <path> now');
    expect(sanitizeMessage('at C:\\Users\\me\\x.db')).toBe('at <path>');
    expect(sanitizeMessage('connect to 127.0.0.1:9876 failed')).toBe('connect to 127.0.0.1:9876 failed');
    expect(sanitizeMessage('topic[a/b]')).toBe('topic[a/b]');
    expect(sanitizeMessage('x'.repeat(600))).toHaveLength(501);
  });
});
