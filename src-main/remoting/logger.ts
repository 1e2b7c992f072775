/** Minimal leveled logger; the broker and remoting layers log through this so tests can silence them. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const quiet = process.env.MQDESK_LOG === 'silent';

export function createLogger(name: string): Logger {
  const line = (level: string, msg: string): string => `${new Date().toISOString()} ${level} [${name}] ${msg}`;
  return {
    info: (msg) => { if (!quiet && process.env.MQDESK_LOG !== 'warn') console.log(line('INFO', msg)); },
    warn: (msg) => { if (!quiet) console.warn(line('WARN', msg)); },
    error: (msg) => { if (!quiet) console.error(line('ERROR', msg)); },
  };
}
