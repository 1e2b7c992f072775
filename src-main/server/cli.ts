/**
 * Headless entry: `npm run serve -- [flags]`. Starts the embedded cluster, prints
 * `NameServer: 127.0.0.1:PORT` when it is ready, and stops cleanly on SIGINT/SIGTERM
 * (brokers unregister, stores flush and fsync, NeDB files are compacted).
 */
import { startCluster } from '../broker/cluster/cluster.js';
import { ArgsError, parseServeArgs, USAGE } from './cli-args.js';

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
  const cluster = await startCluster({
    dataDir: args.dataDir,
    namesrvPort: args.namesrvPort,
    namesrvCount: args.namesrvCount,
    flushMode: args.flush === 'sync' ? 'SYNC' : 'ASYNC',
    replicationMode: args.replication === 'sync' ? 'SYNC' : 'ASYNC',
  });
  console.log(`NameServer: ${cluster.namesrvAddr}`);
  for (const n of cluster.nodes()) console.log(`Broker: ${n.name} ${n.role} ${n.address}`);
  console.log(`Data: ${args.dataDir}`);
  if (args.console) console.log('(the web console is not built yet; --console-port is accepted and reserved for it)');

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received, stopping the cluster`);
    const force = setTimeout(() => {
      console.error('cluster did not stop within 15 s; exiting');
      process.exit(1);
    }, 15_000);
    cluster.stop().then(() => {
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
  } else {
    console.error(`mqdesk serve: ${e.stack ?? e.message}`);
  }
  process.exit(1);
});
