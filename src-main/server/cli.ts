/**
 * Headless entry: `npm run serve -- [flags]`. Starts the embedded cluster, prints
 * `NameServer: 127.0.0.1:PORT` when it is ready, and stops cleanly on SIGINT/SIGTERM
 * (brokers unregister, stores flush and fsync, NeDB files are compacted).
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { startCluster } from '../broker/cluster/cluster.js';
import { ConsoleService } from '../console/service.js';
import { DataDirLockedError } from '../broker/cluster/data-dir-lock.js';
import { ArgsError, parseServeArgs, USAGE } from './cli-args.js';
import { EmbeddedSettingsStore, toClusterOptions } from '../console/embedded-settings.js';
import type { EmbeddedSettingsValue } from '../console/contract/admin-dto.js';
import { rendererBuilt, startConsoleServer, type ConsoleServer } from './http-server.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RENDERER_DIR = path.join(ROOT, 'out', 'renderer');

/**
 * The web console needs the built renderer. When out/renderer is missing (a fresh checkout), build
 * it once with electron-vite (a few seconds; its output goes to stderr so stdout keeps the contract
 * lines). Returns why it could not, or null.
 */
function ensureRendererBuilt(): string | null {
  if (rendererBuilt(RENDERER_DIR)) return null;
  let cli: string;
  try {
    const require = createRequire(path.join(ROOT, 'package.json'));
    const pkgFile = require.resolve('electron-vite/package.json');
    const bin = (JSON.parse(readFileSync(pkgFile, 'utf8')) as { bin: Record<string, string> }).bin['electron-vite']!;
    cli = path.join(path.dirname(pkgFile), bin);
  } catch {
    return 'the renderer is not built and electron-vite is not installed; run `npm run build`';
  }
  console.error('mqdesk serve: the renderer is not built yet; building it (npx electron-vite build)…');
  const build = spawnSync(process.execPath, [cli, 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (build.status !== 0 || !rendererBuilt(RENDERER_DIR)) return 'building the renderer failed; run `npm run build` and look at its errors';
  return null;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseServeArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ArgsError) {
      console.error(`mqdesk serve: ${err.message}\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  // The console's saved embedded settings (settings page), under the flags given on the command line.
  const consoleDir = path.join(args.dataDir, 'console');
  const settingsStore = await EmbeddedSettingsStore.open(consoleDir);
  const pinned: Array<keyof EmbeddedSettingsValue> = [];
  const effective: EmbeddedSettingsValue = { ...settingsStore.get(), startOnLaunch: true };
  const pin = <K extends keyof EmbeddedSettingsValue>(key: K, value: EmbeddedSettingsValue[K]): void => {
    pinned.push(key);
    effective[key] = value;
  };
  if (args.explicit.has('dataDir')) pin('dataDir', '');
  if (args.explicit.has('namesrvPort')) pin('namesrvPort', args.namesrvPort);
  if (args.explicit.has('namesrvCount')) pin('namesrvCount', args.namesrvCount);
  if (args.explicit.has('flush')) pin('flushMode', args.flush === 'sync' ? 'SYNC' : 'ASYNC');
  if (args.explicit.has('replication')) pin('replicationMode', args.replication === 'sync' ? 'SYNC' : 'ASYNC');
  const cluster = await startCluster({ ...toClusterOptions(effective, args.dataDir), failoverTimeoutMs: args.failoverTimeoutMs });
  console.log(`NameServer: ${cluster.namesrvAddr}`);
  for (const n of cluster.nodes()) console.log(`Broker: ${n.name} ${n.role} ${n.address}`);
  console.log(`Data: ${effective.dataDir || args.dataDir}`);

  let service: ConsoleService | null = null;
  let server: ConsoleServer | null = null;
  if (args.console) {
    const problem = ensureRendererBuilt();
    if (problem) {
      console.error(`mqdesk serve: the web console is off: ${problem}`);
    } else {
      service = await ConsoleService.create({
        dataDir: consoleDir,
        embeddedNamesrvAddr: cluster.namesrvAddr,
        mode: 'headless',
        version: packageVersion(),
        embeddedSettings: settingsStore,
        defaultEmbeddedDataDir: args.dataDir,
      });
      service.attachEmbedded(cluster, { running: effective, defaultDataDir: args.dataDir, pinnedByHost: pinned });
      try {
        server = await startConsoleServer({ service, rendererDir: RENDERER_DIR, port: args.consolePort });
        console.log(`Console: ${server.url}`);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        console.error(`mqdesk serve: the web console could not listen on port ${args.consolePort}: ${e.code ?? e.message}`
          + (e.code === 'EADDRINUSE' ? ' (pass --console-port 0 for a free port)' : ''));
      }
    }
  }

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received, stopping the cluster`);
    const force = setTimeout(() => {
      console.error('cluster did not stop within 15 s; exiting');
      process.exit(1);
    }, 15_000);
    const stopConsole = async (): Promise<void> => {
      await server?.close().catch(() => undefined);
      await service?.close().catch(() => undefined);
      if (!service) await settingsStore.close();
    };
    stopConsole().then(() => cluster.stop()).then(() => {
      clearTimeout(force);
      console.log('cluster stopped');
      process.exit(0);
    }, (err: unknown) => {
      console.error(`stop failed: ${(err as Error).message}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') {
    console.error(`mqdesk serve: a port is already in use (${e.message}); pass --namesrv-port 0 to choose free ports`);
  } else if (e instanceof DataDirLockedError) {
    console.error(`mqdesk serve: ${e.message}`);
  } else {
    console.error(`mqdesk serve: ${e.stack ?? e.message}`);
  }
  process.exit(1);
});
