// Starts and finds the Temporal dev server (the `temporal` CLI built by scripts/provision/temporal.sh).
// Its SQLite file keeps workflows and timers across a kill -9 and a restart, which is what lets the
// demo and the chaos tests resume a bakeoff mid-rollout.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { binDir } from './paths';
import { freePort } from './ports';

/** Custom search attributes bakeoff upserts, registered when the dev server starts. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Bool' | 'Int'> = {
  BakeoffPhase: 'Keyword',
  ConfigHash: 'Keyword',
  BakeoffDryRun: 'Bool',
  BakeoffOutcome: 'Keyword',
};

export function findTemporalCli(): string {
  const candidates = [process.env.TEMPORAL_CLI, path.join(binDir, 'temporal')].filter((p): p is string => !!p);
  for (const c of candidates) if (fs.existsSync(c)) return c;
  const which = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error("the 'temporal' CLI was not found: run 'bash scripts/provision/temporal.sh' (or set TEMPORAL_CLI)");
}

export interface DevServerOptions {
  /** SQLite file; absent = in-memory (lost on exit). */
  dbFile?: string;
  port?: number;
  uiPort?: number;
  /** No Web UI (tests that do not need it start faster). */
  headless?: boolean;
  /** Let the server outlive this process (the demo leaves it up so the UI stays browsable). */
  detached?: boolean;
  logFile?: string;
  readyTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  pid: number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function waitForTemporal(address: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await conn.workflowService.getSystemInfo({});
        return;
      } finally {
        await conn.close();
      }
    } catch (e) {
      lastErr = e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal server at ${address} did not answer within ${timeoutMs} ms: ${String(lastErr)}`);
}

const INDEXED_VALUE_TYPE = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Bool: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
} as const;

/**
 * Registers the SEARCH_ATTRIBUTES a local dev server lacks. `start-dev --search-attribute` registers
 * them only when it creates the SQLite file: a server started on a file from an older release (one
 * without BakeoffOutcome) comes up without the new one, and every bakeoff start would be refused.
 * Returns the names it added. Only for servers bakeoff runs itself; a real cluster is the operator's.
 */
export async function registerSearchAttributes(address: string, namespace = 'default'): Promise<string[]> {
  const conn = await Connection.connect({ address, connectTimeout: 5000 });
  try {
    const r = await conn.operatorService.listSearchAttributes({ namespace });
    const have = { ...(r.customAttributes ?? {}), ...(r.systemAttributes ?? {}) };
    const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in have));
    if (missing.length === 0) return [];
    try {
      await conn.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]])) });
    } catch (err) {
      // ALREADY_EXISTS: the server's own start-up registration got there between the list and the add.
      if ((err as { code?: number }).code !== 6) throw err;
    }
    return missing.map(([name]) => name);
  } finally {
    await conn.close();
  }
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const cli = findTemporalCli();
  const port = opts.port ?? (await freePort());
  const uiPort = opts.headless ? undefined : (opts.uiPort ?? (await freePort()));
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  const child: ChildProcess = spawn(cli, args, {
    stdio: ['ignore', out, out],
    detached: opts.detached ?? false,
  });
  if (typeof out === 'number') fs.closeSync(out);
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  if (opts.detached) child.unref();

  const address = `127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitForTemporal(address, opts.readyTimeoutMs ?? 60_000),
      exitPromise.then(() => {
        throw new Error(`temporal dev server exited during start-up (args: ${args.join(' ')})`);
      }),
    ]);
    if (opts.dbFile) await registerSearchAttributes(address);
  } catch (e) {
    if (!exited) child.kill('SIGKILL');
    throw e;
  }
  return {
    address,
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
    pid: child.pid!,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (exited) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(t);
    },
  };
}
