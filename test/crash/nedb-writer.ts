/**
 * Child process for the NeDB kill -9 test: updates a counter and a spread of keys as fast as it
 * can; after each update is fsynced it prints "acked <n>". The parent kills it at a random moment.
 */
import { NedbTable } from '../../src-main/broker/metadata/nedb-table.js';

const file = process.argv[2] as string;
const start = Number(process.argv[3] ?? 0);

async function main(): Promise<void> {
  const table = new NedbTable<{ n: number; pad: string }>(file);
  await table.load();
  console.log('ready');
  for (let n = start; ; n++) {
    const pad = 'x'.repeat(n % 200);
    void table.put(`key-${n % 50}`, { n, pad });
    await table.put('counter', { n, pad });
    console.log(`acked ${n}`);
  }
}

main().catch((e: unknown) => {
  console.error((e as Error).stack);
  process.exit(1);
});
