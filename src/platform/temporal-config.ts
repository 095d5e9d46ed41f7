// Connection settings for clients and workers, read from the environment and validated by zod,
// so a typo in TEMPORAL_ADDRESS is a one-line message instead of a gRPC stack trace.
import * as fs from 'node:fs';
import { z } from 'zod';
import { formatZodIssues } from './zod-issues';

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233');

const boolFlag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const TemporalEnvShape = {
    TEMPORAL_ADDRESS: hostPort.optional(),
    TEMPORAL_NAMESPACE: z.string().min(1).max(255).default('default'),
    BAKEOFF_TASK_QUEUE: z.string().min(1).max(255).default('bakeoff'),
    TEMPORAL_TLS: boolFlag.optional(),
    TEMPORAL_TLS_CERT_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_KEY_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_CA_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
    TEMPORAL_API_KEY: z.string().min(1).optional(),
    /** Lets TEMPORAL_TLS=false carry an API key (e.g. to a local proxy that terminates TLS). */
    TEMPORAL_ALLOW_INSECURE_API_KEY: boolFlag.optional(),
};

export const TemporalEnv = z
  .object(TemporalEnvShape)
  .refine((e) => !e.TEMPORAL_TLS_CERT_PATH === !e.TEMPORAL_TLS_KEY_PATH, {
    message: 'TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH must be set together (mTLS)',
    path: ['TEMPORAL_TLS_CERT_PATH'],
  });
export type TemporalEnv = z.infer<typeof TemporalEnv>;

export interface TemporalSettings {
  /** undefined = no server configured: the demo starts a local dev server. */
  address?: string;
  namespace: string;
  taskQueue: string;
  /** Fits both the client's Connection and the worker's NativeConnection options. */
  connection: ConnectionSettings;
}

export interface ConnectionSettings {
  /**
   * false = plain TCP, said explicitly: the SDK turns TLS on by itself whenever an API key is set and
   * `tls` is left undefined, which would ignore TEMPORAL_TLS=false.
   */
  tls?:
    | {
        serverNameOverride?: string;
        serverRootCACertificate?: Buffer;
        clientCertPair?: { crt: Buffer; key: Buffer };
      }
    | false;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Formats zod issues as "FIELD: message" lines, the shape every bakeoff user error takes. */
export function describeIssues(err: z.ZodError): string {
  return formatZodIssues(err);
}

function readFileOrThrow(varName: string, p: string): Buffer {
  try {
    return fs.readFileSync(p);
  } catch (e) {
    throw new ConfigError(`${varName}: cannot read ${p} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export function loadTemporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  // Only our keys, and an empty variable counts as unset (a common shell habit: FOO= cmd).
  const known = Object.keys(TemporalEnvShape);
  const parsed = TemporalEnv.safeParse(
    Object.fromEntries(Object.entries(env).filter(([k, v]) => known.includes(k) && v !== '')),
  );
  if (!parsed.success) throw new ConfigError(`invalid Temporal settings:\n${describeIssues(parsed.error)}`);
  const e = parsed.data;
  if (e.TEMPORAL_API_KEY && e.TEMPORAL_TLS === false && !e.TEMPORAL_ALLOW_INSECURE_API_KEY) {
    // The key is a bearer credential: over plain TCP anyone on the path can read and replay it.
    throw new ConfigError(
      'TEMPORAL_TLS=false with TEMPORAL_API_KEY set would send the API key in clear text: enable TLS (unset TEMPORAL_TLS), or set TEMPORAL_ALLOW_INSECURE_API_KEY=1 if a local proxy terminates TLS',
    );
  }
  const useTls = e.TEMPORAL_TLS ?? Boolean(e.TEMPORAL_TLS_CERT_PATH || e.TEMPORAL_TLS_CA_PATH || e.TEMPORAL_API_KEY);
  const connection: ConnectionSettings = {};
  if (!useTls && e.TEMPORAL_TLS === false) connection.tls = false;
  if (useTls) {
    connection.tls = {
      serverNameOverride: e.TEMPORAL_TLS_SERVER_NAME,
      serverRootCACertificate: e.TEMPORAL_TLS_CA_PATH ? readFileOrThrow('TEMPORAL_TLS_CA_PATH', e.TEMPORAL_TLS_CA_PATH) : undefined,
      clientCertPair:
        e.TEMPORAL_TLS_CERT_PATH && e.TEMPORAL_TLS_KEY_PATH
          ? {
              crt: readFileOrThrow('TEMPORAL_TLS_CERT_PATH', e.TEMPORAL_TLS_CERT_PATH),
              key: readFileOrThrow('TEMPORAL_TLS_KEY_PATH', e.TEMPORAL_TLS_KEY_PATH),
            }
          : undefined,
    };
  }
  if (e.TEMPORAL_API_KEY) {
    connection.apiKey = e.TEMPORAL_API_KEY;
    connection.metadata = { 'temporal-namespace': e.TEMPORAL_NAMESPACE };
  }
  return { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.BAKEOFF_TASK_QUEUE, connection };
}
