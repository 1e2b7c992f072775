/**
 * One cluster per data directory: two processes writing the same commitlog would corrupt it
 * (RocketMQ takes a file lock on its store path for the same reason). The lock is a file holding
 * the owner's pid; a lock whose process is gone (killed with SIGKILL) is stale and taken over.
 */
import fs from 'node:fs';
import path from 'node:path';

const heldInThisProcess = new Set<string>();

export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string, readonly ownerPid: number) {
    super(`data directory ${dataDir} is in use by another MQDesk cluster (pid ${ownerPid}); stop it or pass another --data-dir`);
    this.name = 'DataDirLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock or throws DataDirLockedError; returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, '.lock');
  if (heldInThisProcess.has(dir)) throw new DataDirLockedError(dir, process.pid);
  try {
    const owner = Number(fs.readFileSync(file, 'utf8').trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new DataDirLockedError(dir, owner);
    }
  } catch (err) {
    if (err instanceof DataDirLockedError) throw err;
    // No lock file, or an unreadable one: take it.
  }
  fs.writeFileSync(file, `${process.pid}\n`);
  heldInThisProcess.add(dir);
  return () => {
    heldInThisProcess.delete(dir);
    try {
      if (Number(fs.readFileSync(file, 'utf8').trim()) === process.pid) fs.unlinkSync(file);
    } catch {
      // Already gone.
    }
  };
}
