// PGlite is one process's database: two processes opening the same data directory each run their own
// Postgres over the same files. The CLI's commands that open the embedded store (worker, ingest, eval,
// backup, pointer, ...) and the retrieval service (src/serve/main.ts) take this lock first, so a second one fails with a clear message instead of
// corrupting the store. (With DATABASE_URL the store is a real PostgreSQL and no lock is needed.)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError } from './errors';

export interface PgliteLock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `command` is a bakeoff subcommand (`worker`, `ingest`, ...); `label` names another kind of holder
 * (the retrieval service), so every refusal reads the same whoever holds the store.
 */
export function lockPglite(dataDir: string, command: string, label = `bakeoff ${command}`): PgliteLock {
  const file = `${dataDir}.lock`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, command, label, since: new Date().toISOString() }));
      fs.closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          fs.rmSync(file);
        } catch {
          // already gone
        }
      };
      process.once('exit', release);
      return { release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: { pid?: number; command?: string; label?: string } = {};
      try {
        holder = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof holder;
      } catch {
        // torn or empty: treat as stale
      }
      if (holder.pid && holder.pid !== process.pid && alive(holder.pid)) {
        throw new CliError(
          `the embedded PGlite store ${dataDir} is in use by \`${holder.label ?? `bakeoff ${holder.command ?? '?'}`}\` (pid ${holder.pid}): ` +
            'stop it first, or set DATABASE_URL (PostgreSQL) so several processes can share the store',
        );
      }
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new CliError(`cannot lock the embedded PGlite store ${dataDir}`);
}
