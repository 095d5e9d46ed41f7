// Which Temporal the CLI talks to, and how: flags beat the environment (validated by
// loadTemporalSettings), and with neither we use the local dev server `bakeoff server start` (or the
// demo) recorded in the state directory, else the well-known 127.0.0.1:7233. The Web UI address is
// derived the same way so every command can print a link an operator can click.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { z } from 'zod';
import { ConfigError, loadTemporalSettings, type ConnectionSettings } from '../platform/temporal-config';
import { CliError, describeError, type ErrorContext } from './errors';
import { homeOf } from './home';

export const DEFAULT_ADDRESS = '127.0.0.1:7233';

export interface GlobalFlags {
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

export interface Target {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Web UI base URL, when known. */
  uiUrl: string | null;
  connection: ConnectionSettings;
}

const RecordedServer = z.object({ pid: z.number().int(), address: z.string(), uiUrl: z.string().optional() });

/** The dev server `bakeoff server start` / the demo left running, if it still runs. */
export function recordedLocalServer(env: NodeJS.ProcessEnv = process.env): { address: string; uiUrl?: string } | null {
  const file = path.join(homeOf(env), 'temporal-server.json');
  try {
    const rec = RecordedServer.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
    process.kill(rec.pid, 0);
    return { address: rec.address, uiUrl: rec.uiUrl };
  } catch {
    return null;
  }
}

const hostPort = /^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/;

export function resolveTarget(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Target {
  if (flags.address !== undefined && !hostPort.test(flags.address)) {
    throw new CliError(`--address ${JSON.stringify(flags.address)}: must be host:port, e.g. 127.0.0.1:7233`);
  }
  let settings;
  try {
    settings = loadTemporalSettings(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  const recorded = flags.address || settings.address ? null : recordedLocalServer(env);
  const address = flags.address ?? settings.address ?? recorded?.address ?? DEFAULT_ADDRESS;
  return {
    address,
    namespace: flags.namespace ?? settings.namespace,
    taskQueue: flags.taskQueue ?? settings.taskQueue,
    uiUrl: uiUrlFor(address, env, recorded?.uiUrl),
    connection: settings.connection,
  };
}

/**
 * BAKEOFF_UI_URL if set; the recorded dev server's UI; else, for a loopback server, the dev server's
 * convention (UI port = gRPC port + 1000, so 7233 → 8233). Elsewhere we cannot guess: null.
 */
export function uiUrlFor(address: string, env: NodeJS.ProcessEnv, recordedUi?: string): string | null {
  if (env.BAKEOFF_UI_URL) return env.BAKEOFF_UI_URL.replace(/\/+$/, '');
  if (recordedUi) return recordedUi;
  const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/.exec(address);
  if (!m) return null;
  const uiPort = Number(m[2]) + 1000;
  return uiPort <= 65535 ? `http://${m[1]}:${uiPort}` : null;
}

export function workflowUrl(target: Target, workflowId: string): string | null {
  if (!target.uiUrl) return null;
  return `${target.uiUrl}/namespaces/${encodeURIComponent(target.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export function errorContext(target: Target, workflowId?: string): ErrorContext {
  return { address: target.address, namespace: target.namespace, workflowId };
}

export interface Connected {
  client: Client;
  connection: Connection;
  target: Target;
}

/** Connects (failing within connectTimeoutMs with the address tried), runs fn, always closes. */
export async function withClient<T>(target: Target, fn: (c: Connected) => Promise<T>, connectTimeoutMs = 5_000): Promise<T> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: target.address, connectTimeout: connectTimeoutMs, ...target.connection });
  } catch (err) {
    throw new CliError(describeError(err, errorContext(target)));
  }
  try {
    return await fn({ client: new Client({ connection, namespace: target.namespace }), connection, target });
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Who is acting: --by, else the login name (what on-call would type anyway). */
export function defaultActor(env: NodeJS.ProcessEnv = process.env): string {
  if (env.USER) return env.USER;
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
