/**
 * connection:options-save / group:offset-snapshots / op:cancel / settings:embedded-get /
 * settings:embedded-save — the console's own administration (issue 4 item 6).
 */
import type { EmbeddedSettingsView } from '../contract/admin-dto.js';
import type { Handler, HandlerContext } from '../dispatch.js';
import { EMBEDDED_DEFAULTS, sameSettings } from '../embedded-settings.js';

export const connectionOptionsSave: Handler<'connection:options-save'> = async (req, ctx) =>
  ctx.connections.saveOptions(req.connectionId, { readOnly: req.readOnly, addressRewrites: req.addressRewrites });

export const groupOffsetSnapshots: Handler<'group:offset-snapshots'> = async (req, ctx) => {
  const query: Record<string, unknown> = { connectionId: req.connectionId, group: req.group };
  if (req.topic !== undefined) query['topic'] = req.topic;
  return { snapshots: await ctx.ops.snapshots.find(query, { at: -1 }, req.limit) };
};

export const opCancel: Handler<'op:cancel'> = async (req, ctx) => ({ cancelled: ctx.operations.cancel(ctx.session.id, req.opId) });

function settingsView(ctx: HandlerContext): EmbeddedSettingsView {
  const host = ctx.embeddedHost();
  const settings = ctx.embeddedSettings.get();
  return {
    settings,
    defaults: { ...EMBEDDED_DEFAULTS, brokerGroups: [...EMBEDDED_DEFAULTS.brokerGroups] },
    savedAt: ctx.embeddedSettings.savedAt,
    running: host.running,
    defaultDataDir: host.defaultDataDir,
    pinnedByHost: host.pinnedByHost,
    restartNeeded: host.running !== null && !sameSettings(host.running, settings, host.pinnedByHost),
  };
}

export const settingsEmbeddedGet: Handler<'settings:embedded-get'> = async (_req, ctx) => settingsView(ctx);

export const settingsEmbeddedSave: Handler<'settings:embedded-save'> = async (req, ctx) => {
  await ctx.embeddedSettings.save(req.settings);
  return settingsView(ctx);
};
