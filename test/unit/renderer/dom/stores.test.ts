// @vitest-environment happy-dom
/**
 * The Pinia stores in a DOM (happy-dom), over a fake transport: the theme follows the OS until the
 * user picks one, the read-only switch, the live tail (newest first, capped, kept after stop, SQL92
 * filter), a by-time scan with progress and cancel, the embedded node controls and settings, the
 * palette's items and ranking, offset snapshots, and the audit log.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { nextTick } from 'vue';
import { installTransport } from '../../../../src-renderer/src/api';
import type { Transport, TransportStatus } from '../../../../src-renderer/src/transport/transport';
import { SETTINGS_STORAGE_KEY, useSettingsStore } from '../../../../src-renderer/src/stores/settings';
import { useConnectionStore } from '../../../../src-renderer/src/stores/connection';
import { TAIL_CAP, usePlaygroundStore } from '../../../../src-renderer/src/stores/playground';
import { useMessagesStore } from '../../../../src-renderer/src/stores/messages';
import { useEmbeddedStore } from '../../../../src-renderer/src/stores/embedded';
import { usePaletteStore } from '../../../../src-renderer/src/stores/palette';
import { useGroupsStore } from '../../../../src-renderer/src/stores/groups';
import { useAuditStore } from '../../../../src-renderer/src/stores/audit';
import { useTopicsStore } from '../../../../src-renderer/src/stores/topics';
import { groupItem, isPaletteShortcut, rankItems, scoreMatch, topicItem, type PaletteItem } from '../../../../src-renderer/src/utils/palette';
import type { MessageRow } from '../../../../src-main/console/contract/dto';

type Handler = (req: Record<string, unknown>) => unknown;

function fakeTransport(handlers: Record<string, Handler>) {
  const subs = new Map<string, Set<(p: unknown) => void>>();
  const calls: Array<[string, Record<string, unknown>]> = [];
  const transport: Transport & { calls: typeof calls; emit(topic: string, payload: unknown): void; handlers: Record<string, Handler> } = {
    kind: 'ws',
    calls,
    handlers,
    async call(channel, req) {
      calls.push([channel, req as Record<string, unknown>]);
      const h = handlers[channel];
      if (!h) throw new Error(`no fake for ${channel}`);
      return (await h(req as Record<string, unknown>)) as never;
    },
    subscribe(topic, cb) {
      const set = subs.get(topic) ?? new Set();
      set.add(cb);
      subs.set(topic, set);
      return () => set.delete(cb);
    },
    onStatus(cb: (s: TransportStatus) => void) {
      cb('connected');
      return () => undefined;
    },
    emit(topic, payload) {
      for (const cb of subs.get(topic) ?? []) cb(payload);
    },
  };
  return transport;
}

const EMBEDDED = { id: 'embedded', name: 'Embedded cluster', namesrvAddr: '127.0.0.1:9876', kind: 'embedded', accessKey: null, hasSecret: false, updatedAt: null, readOnly: false, addressRewrites: [] };
const REMOTE = { ...EMBEDDED, id: 'c1', name: 'prod', kind: 'remote', readOnly: true };
const flush = () => new Promise((r) => setTimeout(r, 0));

function row(i: number): MessageRow {
  return {
    msgId: `M${i}`, uniqKey: null, topic: 'T', brokerName: 'broker-a', queueId: 0, queueOffset: i, commitLogOffset: i, tags: null, keys: null,
    bornTimestamp: i, storeTimestamp: i, bornHost: '', storeHost: '', bodySize: 1, reconsumeTimes: 0, preview: `m${i}`,
  };
}

/** A controllable prefers-color-scheme. */
function fakeMedia(dark: boolean) {
  const listeners = new Set<(e: { matches: boolean }) => void>();
  const media = {
    matches: dark,
    addEventListener: (_: string, cb: (e: { matches: boolean }) => void) => listeners.add(cb),
    set(next: boolean) {
      media.matches = next;
      for (const l of listeners) l({ matches: next });
    },
  };
  window.matchMedia = vi.fn(() => media) as unknown as typeof window.matchMedia;
  return media;
}

let transport: ReturnType<typeof fakeTransport>;

beforeEach(() => {
  window.localStorage.clear();
  document.documentElement.className = '';
  setActivePinia(createPinia());
  transport = fakeTransport({
    'app:info': () => ({ version: '1', mode: 'headless', namesrvAddr: '127.0.0.1:9876' }),
    'connection:list': () => [EMBEDDED, REMOTE],
  });
  installTransport(transport);
});

describe('settings store: theme follows the OS until the user picks one', () => {
  it('follows prefers-color-scheme live, then keeps the user\'s pick, and can follow again', async () => {
    const media = fakeMedia(false);
    const settings = useSettingsStore();
    expect(settings.themePreference).toBe('system');
    expect(settings.theme).toBe('light');
    media.set(true);
    await nextTick();
    expect(settings.theme).toBe('dark');
    expect(document.documentElement.classList.contains('dark')).toBe(true);

    settings.theme = 'light'; // the user picks
    await nextTick();
    expect(settings.followsSystem).toBe(false);
    media.set(true);
    await nextTick();
    expect(document.documentElement.classList.contains('dark')).toBe(false);
    expect(JSON.parse(window.localStorage.getItem(SETTINGS_STORAGE_KEY)!)).toMatchObject({ theme: 'light' });

    settings.followSystem();
    await nextTick();
    expect(settings.theme).toBe('dark');
    expect(JSON.parse(window.localStorage.getItem(SETTINGS_STORAGE_KEY)!)).toMatchObject({ theme: 'system' });
  });

  it('keeps what an older version stored, and ignores junk', () => {
    fakeMedia(true);
    window.localStorage.setItem(SETTINGS_STORAGE_KEY, JSON.stringify({ theme: 'light', locale: 'zh-CN' }));
    const settings = useSettingsStore();
    expect(settings.theme).toBe('light');
    expect(settings.locale).toBe('zh-CN');
    expect(document.documentElement.lang).toBe('zh-CN');
    setActivePinia(createPinia());
    window.localStorage.setItem(SETTINGS_STORAGE_KEY, JSON.stringify({ theme: 'purple', locale: 'xx' }));
    expect(useSettingsStore().themePreference).toBe('system');
  });
});

describe('connection store: read-only', () => {
  it('says whether the current connection is read-only and saves options', async () => {
    transport.handlers['connection:options-save'] = (req) => ({ connectionId: req['connectionId'], readOnly: req['readOnly'], addressRewrites: [], updatedAt: 1 });
    const connection = useConnectionStore();
    await connection.refreshInfo();
    expect(connection.readOnly).toBe(false);
    connection.select('c1');
    expect(connection.readOnly).toBe(true);
    const lists = transport.calls.filter(([c]) => c === 'connection:list').length;
    await connection.saveOptions({ connectionId: 'embedded', readOnly: true, addressRewrites: [{ from: 'a:1', to: 'b:2' }] });
    expect(transport.calls.find(([c]) => c === 'connection:options-save')![1]).toEqual({ connectionId: 'embedded', readOnly: true, addressRewrites: [{ from: 'a:1', to: 'b:2' }] });
    expect(transport.calls.filter(([c]) => c === 'connection:list').length).toBe(lists + 1); // reloaded after saving
  });
});

describe('playground store: live tail', () => {
  it('shows newest first, caps the list, keeps it after stop, and sends a SQL92 filter', async () => {
    transport.handlers['playground:tail'] = () => ({ tailId: 't1' });
    transport.handlers['playground:tail-stop'] = () => ({ ok: true });
    const playground = usePlaygroundStore();
    await playground.startTail('T', { sql: " n > 5 " });
    expect(transport.calls.find(([c]) => c === 'playground:tail')![1]).toEqual({ connectionId: 'embedded', topic: 'T', filterType: 'SQL92', sql: 'n > 5' });
    transport.emit('playground:tail', { tailId: 't1', messages: [row(1), row(2)], error: null });
    transport.emit('playground:tail', { tailId: 'other', messages: [row(99)], error: null });
    expect(playground.tailMessages.map((m) => m.msgId)).toEqual(['M2', 'M1']);
    transport.emit('playground:tail', { tailId: 't1', messages: Array.from({ length: TAIL_CAP + 10 }, (_, i) => row(100 + i)), error: null });
    expect(playground.tailMessages).toHaveLength(TAIL_CAP);
    expect(playground.tailMessages[0]!.msgId).toBe(`M${100 + TAIL_CAP + 9}`);
    await playground.stopTail();
    expect(playground.tailId).toBeNull();
    expect(playground.tailMessages).toHaveLength(TAIL_CAP);
    transport.emit('playground:tail', { tailId: 't1', messages: [row(5)], error: null });
    expect(playground.tailMessages[0]!.msgId).not.toBe('M5'); // unsubscribed
  });

  it('sends a tag expression as before', async () => {
    transport.handlers['playground:tail'] = () => ({ tailId: 't2' });
    await usePlaygroundStore().startTail('T', ' a || b ');
    expect(transport.calls.find(([c]) => c === 'playground:tail')![1]).toEqual({ connectionId: 'embedded', topic: 'T', tags: 'a || b' });
  });
});

describe('messages store: a by-time scan with progress and cancel', () => {
  it('tracks op:progress for its own opId and cancels with op:cancel', async () => {
    let resolveScan: (v: unknown) => void = () => undefined;
    transport.handlers['message:by-time'] = () => new Promise((r) => (resolveScan = r));
    transport.handlers['op:cancel'] = () => ({ cancelled: true });
    const messages = useMessagesStore();
    const running = messages.byTime({ topic: 'T', beginTime: 0, endTime: 10 });
    await flush();
    const opId = transport.calls.find(([c]) => c === 'message:by-time')![1]['opId'] as string;
    expect(opId).toMatch(/^op/);
    transport.emit('op:progress', { opId, done: 3, total: 8, step: 'broker-a/2' });
    transport.emit('op:progress', { opId: 'someone-else', done: 7, total: 8, step: null });
    expect(messages.progress).toEqual({ opId, done: 3, total: 8, step: 'broker-a/2' });
    await messages.cancel();
    expect(transport.calls.find(([c]) => c === 'op:cancel')![1]).toEqual({ opId });
    resolveScan({ messages: [row(1)], partial: true, stoppedBy: 'cancelled', errors: [] });
    await running;
    expect(messages.progress).toBeNull();
    expect(messages.stoppedBy).toBe('cancelled');
    expect(messages.rows).toHaveLength(1);
  });
});

describe('embedded store: node controls and settings', () => {
  it('runs each action on its channel with confirm, then refreshes; nothing for another connection', async () => {
    const nodes = { available: true, nodes: [], namesrvs: [], events: [] };
    for (const c of ['cluster:nodes']) transport.handlers[c] = () => nodes;
    for (const c of ['node:stop', 'node:kill', 'node:restart', 'node:promote']) transport.handlers[c] = () => ({ node: 'n', state: 'running', role: 'SLAVE' });
    const embedded = useEmbeddedStore();
    await embedded.refresh();
    expect(embedded.nodes).toEqual(nodes);
    await embedded.act('stop', 'broker-a-1', 'broker-a');
    await embedded.act('promote', 'broker-a-1', 'broker-a');
    expect(transport.calls.filter(([c]) => c.startsWith('node:'))).toEqual([
      ['node:stop', { connectionId: 'embedded', node: 'broker-a-1', confirm: true }],
      ['node:promote', { connectionId: 'embedded', brokerName: 'broker-a', node: 'broker-a-1', confirm: true }],
    ]);
    expect(transport.calls.filter(([c]) => c === 'cluster:nodes')).toHaveLength(3);
    transport.handlers['node:kill'] = () => {
      throw new Error('refused');
    };
    await expect(embedded.act('kill', 'x', 'broker-a')).rejects.toThrow('refused');
    expect(embedded.busyNode).toBeNull();
    useConnectionStore().select('c1');
    await embedded.refresh();
    expect(embedded.nodes).toBeNull();
  });

  it('loads and saves the embedded settings', async () => {
    const view = { settings: { startOnLaunch: true }, restartNeeded: false };
    transport.handlers['settings:embedded-get'] = () => view;
    transport.handlers['settings:embedded-save'] = (req) => ({ ...view, settings: (req as { settings: unknown }).settings, restartNeeded: true });
    const embedded = useEmbeddedStore();
    await embedded.loadSettings();
    expect(embedded.settings).toEqual(view);
    await embedded.saveSettings({ startOnLaunch: false } as never);
    expect(embedded.settings?.restartNeeded).toBe(true);
  });
});

describe('command palette', () => {
  const pages: PaletteItem[] = [
    { kind: 'page', label: 'Topics', path: '/topics' }, { kind: 'page', label: 'Consumer groups', path: '/consumer-groups' },
    { kind: 'page', label: 'Overview', path: '/overview' },
  ];

  it('ranks exact, prefix, substring, word start and fuzzy matches', () => {
    const items = [...pages, topicItem('OrderTopic'), topicItem('TopicOfOrders'), groupItem('order-consumers'), groupItem('GroupX')];
    expect(rankItems(items, 'topics').map((i) => i.label)[0]).toBe('Topics');
    // Prefixes first (shorter first), then substrings.
    expect(rankItems(items, 'order').map((i) => i.label)).toEqual(['OrderTopic', 'order-consumers', 'TopicOfOrders']);
    expect(rankItems(items, 'ogx').map((i) => i.label)).toEqual([]);
    expect(rankItems(items, 'grx').map((i) => i.label)).toEqual(['GroupX']);
    expect(rankItems(items, '').length).toBe(items.length);
    expect(scoreMatch('abc', 'zzz')).toBeNull();
    expect(topicItem('T')).toEqual({ kind: 'topic', label: 'T', path: '/topics', query: { topic: 'T' } });
  });

  it('opens on Ctrl+K and Cmd+K only', () => {
    const key = (k: Partial<KeyboardEvent>) => ({ key: 'k', ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...k });
    expect(isPaletteShortcut(key({ ctrlKey: true }))).toBe(true);
    expect(isPaletteShortcut(key({ metaKey: true }))).toBe(true);
    expect(isPaletteShortcut(key({}))).toBe(false);
    expect(isPaletteShortcut(key({ ctrlKey: true, shiftKey: true }))).toBe(false);
    expect(isPaletteShortcut(key({ key: 'j', ctrlKey: true }))).toBe(false);
  });

  it('loads topic and group names once per connection, cheaply', async () => {
    transport.handlers['topic:list'] = () => ({ topics: [{ name: 'OrderTopic' }], total: 1, partial: false, errors: [] });
    transport.handlers['group:list'] = () => ({ groups: [{ name: 'order-consumers' }], total: 1, partial: false, errors: [] });
    const palette = usePaletteStore();
    await palette.load();
    await palette.load();
    expect(transport.calls.filter(([c]) => c === 'topic:list')).toHaveLength(1);
    expect(transport.calls.find(([c]) => c === 'group:list')![1]).toMatchObject({ budget: { maxRows: 1, maxMs: 100 } });
    expect(palette.items(pages).map((i) => `${i.kind}:${i.label}`)).toEqual([
      'page:Topics', 'page:Consumer groups', 'page:Overview', 'topic:OrderTopic', 'group:order-consumers',
    ]);
    useConnectionStore().select('c1');
    await palette.load();
    expect(transport.calls.filter(([c]) => c === 'topic:list')).toHaveLength(2);
  });
});

describe('groups store: offset snapshots', () => {
  it('lists a group\'s snapshots and restores one with confirm', async () => {
    const snap = { id: 's1', at: 1, connectionId: 'embedded', group: 'G', topic: 'T', reason: 'before reset to earliest', queues: [], restoredAt: null };
    transport.handlers['group:offset-snapshots'] = () => ({ snapshots: [snap] });
    transport.handlers['group:offset-restore'] = () => ({ snapshotId: 's1', queues: [] });
    const groups = useGroupsStore();
    await groups.loadSnapshots('G');
    expect(groups.snapshots).toEqual([snap]);
    await groups.restoreSnapshot('s1');
    expect(transport.calls.find(([c]) => c === 'group:offset-restore')![1]).toEqual({ connectionId: 'embedded', snapshotId: 's1', confirm: true });
    transport.handlers['group:offset-snapshots'] = () => {
      throw new Error('down');
    };
    await groups.loadSnapshots('G');
    expect(groups.snapshots).toEqual([]);
  });
});

describe('audit and topics stores', () => {
  it('reads the audit log, all connections or one', async () => {
    transport.handlers['audit:list'] = () => [{ id: 'a1', action: 'topic-create' }];
    const audit = useAuditStore();
    await audit.refresh();
    audit.connectionFilter = 'c1';
    await audit.refresh(10);
    expect(transport.calls.filter(([c]) => c === 'audit:list').map(([, r]) => r)).toEqual([{ limit: 200 }, { limit: 10, connectionId: 'c1' }]);
    transport.handlers['audit:list'] = () => {
      throw new Error('nope');
    };
    await audit.refresh();
    expect(audit.error).toBe('nope');
  });

  it('topics store keeps the error of a failed list and its last rows', async () => {
    transport.handlers['topic:list'] = () => ({ topics: [{ name: 'A' }], total: 1, partial: false, errors: [] });
    const connection = useConnectionStore();
    await connection.refreshInfo();
    const topics = useTopicsStore();
    await topics.refresh();
    expect(topics.topics.map((x) => x.name)).toEqual(['A']);
    transport.handlers['topic:list'] = () => {
      throw new Error('down');
    };
    await topics.refresh();
    expect(topics.error).toBe('down');
  });
});
