/**
 * The Electron IPC door (app/ipc/handle.ts) with the `electron` module replaced: one handler,
 * sender checks, requests handed to the same dispatch the headless server uses, events pushed to
 * the right page, and tails stopped when the page goes.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

const handlers = new Map<string, (...args: unknown[]) => unknown>();
vi.mock('electron', () => ({
  ipcMain: { handle: (channel: string, fn: (...args: unknown[]) => unknown) => handlers.set(channel, fn) },
}));

const { registerIpcHandlers } = await import('../../../src-main/app/ipc/handle.js');
const { INVOKE_IPC_CHANNEL, EVENT_IPC_CHANNEL } = await import('../../../src-main/app/ipc/channels.js');

function fakeContents() {
  const listeners = new Map<string, () => void>();
  return {
    sent: [] as unknown[],
    destroyed: false,
    isDestroyed() { return this.destroyed; },
    send(channel: string, payload: unknown) { this.sent.push([channel, payload]); },
    once(event: string, cb: () => void) { listeners.set(event, cb); },
    destroy() { this.destroyed = true; listeners.get('destroyed')?.(); },
  };
}

const event = (url: string, contents: ReturnType<typeof fakeContents>, parent: unknown = null) => ({ senderFrame: { url, parent }, sender: contents });

describe('ipc handle', () => {
  let service: { dispatch: ReturnType<typeof vi.fn>; openSession: ReturnType<typeof vi.fn>; closeSession: ReturnType<typeof vi.fn> };
  let emitters: Array<(topic: string, payload: unknown) => void>;

  beforeEach(() => {
    handlers.clear();
    emitters = [];
    service = {
      dispatch: vi.fn(async () => ({ ok: true, result: 'R' })),
      openSession: vi.fn((emit: (topic: string, payload: unknown) => void) => {
        emitters.push(emit);
        return { id: `s${emitters.length}`, emit };
      }),
      closeSession: vi.fn(),
    };
    registerIpcHandlers({ trustedOrigins: ['app://console'], service: service as never });
  });

  it('registers exactly one invoke channel', () => {
    expect([...handlers.keys()]).toEqual([INVOKE_IPC_CHANNEL]);
  });

  it('refuses untrusted frames without dispatching', async () => {
    const invoke = handlers.get(INVOKE_IPC_CHANNEL)!;
    const c = fakeContents();
    for (const e of [event('https://evil.example/', c), event('app://console.evil/', c), event('app://console/index.html', c, {}), { senderFrame: null, sender: c }]) {
      expect(await invoke(e, 'topic:list', {})).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: 'Sender not allowed' } });
    }
    expect(service.dispatch).not.toHaveBeenCalled();
  });

  it('dispatches trusted calls with one session per page, pushes events to that page, closes it when the page goes', async () => {
    const invoke = handlers.get(INVOKE_IPC_CHANNEL)!;
    const c = fakeContents();
    expect(await invoke(event('app://console/index.html', c), 'topic:list', { query: 'x' })).toEqual({ ok: true, result: 'R' });
    await invoke(event('app://console/index.html', c), 'app:info', undefined);
    expect(service.openSession).toHaveBeenCalledTimes(1);
    expect(service.dispatch).toHaveBeenNthCalledWith(1, 'topic:list', { query: 'x' }, expect.objectContaining({ id: 's1' }));
    emitters[0]!('playground:tail', { tailId: 't', messages: [], error: null });
    expect(c.sent).toEqual([[EVENT_IPC_CHANNEL, { topic: 'playground:tail', payload: { tailId: 't', messages: [], error: null } }]]);
    c.destroy();
    expect(service.closeSession).toHaveBeenCalledWith(expect.objectContaining({ id: 's1' }));
    emitters[0]!('playground:tail', {});
    expect(c.sent).toHaveLength(1);
  });
});
