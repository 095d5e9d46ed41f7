// Starts and stops a private PostgreSQL 15 cluster (Debian's binaries + pgvector, installed by
// scripts/provision/postgres.sh) on a loopback port, for the tests and the demo.
// PostgreSQL refuses to run as root, so under root the cluster belongs to a system user
// (`postgres`, which Debian's package creates) and every server command runs as that user.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { z } from 'zod';
import { SAFE_IDENTIFIER } from './db';
import { freePort } from './ports';
import { formatZodIssues } from './zod-issues';

const execFileAsync = promisify(execFile);

/** Always the versioned directory: a fresh machine has no initdb/pg_ctl on PATH. */
export const PG_BIN = process.env.BAKEOFF_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'postgres';

const StartPostgresOptions = z.object({
  /** Cluster data directory; initialised on first use, reused afterwards. */
  dir: z.string().min(1, 'dir must name the cluster directory'),
  /** Loopback port; absent = a free one. */
  port: z.number().int().min(1).max(65535).optional(),
  /** Database created (if missing) and named in the returned URL. */
  database: z.string().regex(SAFE_IDENTIFIER, 'database must be a plain lower-case identifier').default('bakeoff'),
  /**
   * A throwaway cluster (tests): no fsync at initdb or at run time. Saves 2-4 s per start on a busy
   * disk; a power cut may then corrupt the cluster, which is fine for data a test recreates.
   */
  ephemeral: z.boolean().default(false),
});
export type StartPostgresOptions = z.input<typeof StartPostgresOptions>;

export interface PostgresServer {
  /** postgresql://postgres@127.0.0.1:<port>/<database>, trust auth on loopback only. */
  url: string;
  port: number;
  dir: string;
  /** False when the cluster was already running: then stop() leaves it up for whoever started it. */
  startedHere: boolean;
  /** pg_ctl stop -m fast (only if this call started the server). */
  stop(): Promise<void>;
}

interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** The OS user the server runs as: ourselves, or (under root) a system user created if need be. */
function serverOsUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const name = process.env.BAKEOFF_PG_OS_USER ?? 'postgres';
  const lookup = () => spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (lookup().status !== 0) {
    const made = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], {
      encoding: 'utf8',
    });
    if (made.status !== 0) throw new Error(`cannot create OS user '${name}' for PostgreSQL: ${made.stderr.trim()}`);
  }
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return { name, uid, gid };
}

/**
 * Makes the cluster dir owned by and reachable for the server's user. Temp dirs made by mkdtemp are
 * 0700 root: we add search (x, not read) permission on those ancestors only, never elsewhere.
 */
function prepareDir(dir: string, user: OsUser | undefined): void {
  fs.mkdirSync(dir, { recursive: true });
  if (!user) return;
  fs.chownSync(dir, user.uid, user.gid);
  const tmp = fs.realpathSync(os.tmpdir());
  for (let p = path.dirname(dir); p.startsWith(tmp + path.sep); p = path.dirname(p)) {
    const st = fs.statSync(p);
    if ((st.mode & 0o001) === 0) fs.chmodSync(p, st.mode | 0o001);
  }
  const probe = spawnSync('test', ['-w', dir], { uid: user.uid, gid: user.gid, cwd: '/' });
  if (probe.status !== 0) {
    throw new Error(
      `PostgreSQL runs as OS user '${user.name}', who cannot reach ${dir} (a parent directory is not searchable): ` +
        `choose a directory under ${os.tmpdir()} or the repository, or set BAKEOFF_HOME`,
    );
  }
}

async function runPgTool(tool: string, args: string[], dir: string, user: OsUser | undefined): Promise<string> {
  const bin = path.join(PG_BIN, tool);
  try {
    const { stdout } = await execFileAsync(bin, args, {
      cwd: dir,
      uid: user?.uid,
      gid: user?.gid,
      env: { ...process.env, LC_ALL: 'C', HOME: dir },
      encoding: 'utf8',
    });
    return stdout;
  } catch (e) {
    const err = e as { code?: number | string; stderr?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

function logTail(logFile: string, lines = 20): string {
  try {
    return fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Port of a running cluster, from line 4 of postmaster.pid; undefined when it is not running. */
function runningPort(dir: string, user: OsUser | undefined): number | undefined {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  // pg_ctl refuses to run as root, even for `status`.
  const status = spawnSync(path.join(PG_BIN, 'pg_ctl'), ['status', '-D', dir], { uid: user?.uid, gid: user?.gid, cwd: dir });
  if (status.status !== 0) return undefined;
  const port = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[3]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port, user: SUPERUSER, database: 'postgres' });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    // Identifier checked against SAFE_IDENTIFIER by the options schema.
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
}

export async function startPostgres(options: StartPostgresOptions): Promise<PostgresServer> {
  const parsed = StartPostgresOptions.safeParse(options);
  if (!parsed.success) {
    throw new Error(`startPostgres: ${formatZodIssues(parsed.error, { root: '', separator: '; ' })}`);
  }
  const { port: wantedPort, database, ephemeral } = parsed.data;
  const dir = path.resolve(parsed.data.dir);
  if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) {
    throw new Error(`PostgreSQL 15 is not installed (${PG_BIN}/initdb missing): run 'bash scripts/provision/postgres.sh'`);
  }
  const user = serverOsUser();
  prepareDir(dir, user);

  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    await runPgTool(
      'initdb',
      ['-D', dir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-instructions']
        .concat(ephemeral ? ['--no-sync'] : []),
      dir,
      user,
    );
  }

  let port = runningPort(dir, user);
  const startedHere = port === undefined;
  if (port === undefined) {
    port = wantedPort ?? (await freePort());
    const logFile = path.join(dir, 'postgres.log');
    // Loopback TCP only; no Unix socket, so no dependency on /var/run/postgresql being writable.
    let serverOpts = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=''`;
    if (ephemeral) serverOpts += ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off';
    try {
      await runPgTool('pg_ctl', ['start', '-D', dir, '-l', logFile, '-w', '-t', '60', '-o', serverOpts], dir, user);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- ${logFile} ---\n${logTail(logFile)}`);
    }
  }
  await ensureDatabase(port, database);

  const stop = async (): Promise<void> => {
    if (!startedHere || runningPort(dir, user) === undefined) return;
    await runPgTool('pg_ctl', ['stop', '-D', dir, '-m', 'fast', '-w', '-t', '60'], dir, user);
  };
  return { url: `postgresql://${SUPERUSER}@127.0.0.1:${port}/${database}`, port, dir, startedHere, stop };
}
