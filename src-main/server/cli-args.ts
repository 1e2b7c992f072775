/**
 * `mqdesk serve` flags. These flags and the "NameServer: host:port" line are a contract other
 * checks rely on (issue 2); keep them.
 */
import os from 'node:os';
import path from 'node:path';

export interface ServeArgs {
  dataDir: string;
  namesrvPort: number;
  namesrvCount: number;
  consolePort: number;
  console: boolean;
  flush: 'async' | 'sync';
  replication: 'async' | 'sync';
  /** Automatic failover after the master is unreachable this long; 0 = off. */
  failoverTimeoutMs: number;
  help: boolean;
  /** Flags given on the command line (they win over the console's saved embedded settings). */
  explicit: Set<'dataDir' | 'namesrvPort' | 'namesrvCount' | 'flush' | 'replication'>;
}

export class ArgsError extends Error {}

export const USAGE = `Usage: mqdesk serve [options]
  --data-dir DIR          data directory (default ~/.mqdesk/cluster)
  --namesrv-port N        NameServer port (default 9876; 0 = every port of the cluster chosen free)
  --namesrvs N            number of NameServers (default 1)
  --console-port N        web console port on 127.0.0.1 (default 8080; 0 = any free port);
                          prints "Console: http://127.0.0.1:PORT/?token=..." (builds out/renderer if missing)
  --no-console            do not serve the web console
  --flush async|sync      broker flush mode (default async)
  --replication async|sync  master/slave replication mode (default async; sync = SYNC_MASTER)
  --failover-timeout MS   promote a slave when its master is unreachable this long (default 10000; 0 = off)
  -h, --help              show this help`;

export function parseServeArgs(argv: string[]): ServeArgs {
  const args: ServeArgs = {
    dataDir: path.join(os.homedir(), '.mqdesk', 'cluster'),
    namesrvPort: 9876,
    namesrvCount: 1,
    consolePort: 8080,
    console: true,
    flush: 'async',
    replication: 'async',
    failoverTimeoutMs: 10_000,
    help: false,
    explicit: new Set(),
  };
  const port = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0 || n > 65535) throw new ArgsError(`${flag} needs a port number 0-65535, got "${v ?? ''}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--data-dir': {
        const v = value();
        if (!v) throw new ArgsError('--data-dir needs a directory');
        args.dataDir = path.resolve(v);
        args.explicit.add('dataDir');
        break;
      }
      case '--namesrv-port': args.namesrvPort = port(flag, value()); args.explicit.add('namesrvPort'); break;
      case '--console-port': args.consolePort = port(flag, value()); break;
      case '--namesrvs': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 5) throw new ArgsError(`--namesrvs needs 1-5, got "${v ?? ''}"`);
        args.namesrvCount = n;
        args.explicit.add('namesrvCount');
        break;
      }
      case '--no-console': args.console = false; break;
      case '--flush': {
        const v = value();
        if (v !== 'async' && v !== 'sync') throw new ArgsError(`--flush needs async or sync, got "${v ?? ''}"`);
        args.flush = v;
        args.explicit.add('flush');
        break;
      }
      case '--replication': {
        const v = value();
        if (v !== 'async' && v !== 'sync') throw new ArgsError(`--replication needs async or sync, got "${v ?? ''}"`);
        args.replication = v;
        args.explicit.add('replication');
        break;
      }
      case '--failover-timeout': {
        const v = value();
        const n = Number(v);
        if (v === undefined || !Number.isInteger(n) || n < 0) throw new ArgsError(`--failover-timeout needs milliseconds (0 = off), got "${v ?? ''}"`);
        args.failoverTimeoutMs = n;
        break;
      }
      case '-h':
      case '--help': args.help = true; break;
      default: throw new ArgsError(`unknown option "${a}"`);
    }
  }
  return args;
}
