#!/usr/bin/env node
// `npx mqdesk serve [flags]`: the headless cluster (and console), same as `npm run serve -- [flags]`.
import { register } from 'tsx/esm/api';

const [command, ...rest] = process.argv.slice(2);
if (command !== 'serve') {
  console.error('usage: mqdesk serve [--data-dir DIR] [--namesrv-port N] [--console-port N] [--no-console] [--flush async|sync] [--replication async|sync]');
  process.exit(2);
}
register();
process.argv = [process.argv[0], process.argv[1], ...rest];
await import('../src-main/server/cli.ts');
