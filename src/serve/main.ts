// The retrieval service entry point: `node dist/serve/main.js`. Settings come from the environment
// and are validated; a mistake is one readable line, not a stack trace.
//   DATABASE_URL                 postgres://… (absent: PGlite in BAKEOFF_PGLITE_DIR — one process only)
//   BAKEOFF_SERVE_HOST / _PORT   bind address (default 127.0.0.1:8088; loopback unless you say otherwise)
//   BAKEOFF_LANE                 serving lane (default "default")
//   BAKEOFF_SERVE_TAU            quality-proxy τ; absent: BAKEOFF_SERVE_TAU_FILE, else calibrated on the train split
//   BAKEOFF_SERVE_SAMPLE         (or `--sample N`) the lane was ingested from a sample of N cases (`bakeoff
//                                ingest --baseline --sample N`): τ is calibrated on that sample's train cases
//   BAKEOFF_SERVE_RATE / _BURST  token bucket for /search (per second / burst)
//   BAKEOFF_SERVE_MAX_IN_FLIGHT  concurrent searches before 429
//   BAKEOFF_SERVE_POLL_MS        pointer poll interval (≤ 1000 so a flip is seen within a second)
//   BAKEOFF_SERVE_KPI_WINDOW_MS  live-KPI window written to live_kpis
//   BAKEOFF_INDEX_DIR            FAISS indexes and rerankers (default <state>/indexes)
//   BAKEOFF_SERVE_CANDIDATE_DELAY_MS / _LATENCY_FACTOR
//                                drill/test knob, off by default: slows the candidate's searches by a
//                                fixed delay / a factor (1.3 = +30 %) so a canary can be seen catching it
//   BAKEOFF_SERVE_BACKEND_LATENCY_MEDIAN_MS / _SIGMA
//                                drill/test knob, off by default: both sides wait a seeded LogNormal(median,
//                                σ) after every search, like a remote vector store would, so a drill's
//                                factor is stated in the latency gate's units on any machine
import * as path from 'node:path';
import { z } from 'zod';
import { loadDataset, subsetForTests, type EvalCase } from '../data/dataset';
import { openDb, type Db } from '../platform/db';
import { ArtifactStore } from '../store/artifacts';
import { stateDir } from '../platform/paths';
import { Embedder } from '../rag/embed';
import { startServing } from './app';
import { laneTau } from './calibrate-lane';
import { formatZodIssues } from '../platform/zod-issues';
import { lockPglite, type PgliteLock } from '../cli/pglite-lock';
import { ensurePlatformSchema } from '../store';
import { readPointer } from '../store/pointer';

export class ServeConfigError extends Error {
  override name = 'ServeConfigError';
}

const int = (name: string, min: number, max: number) =>
  z.coerce.number({ error: `${name} must be a number` }).int({ error: `${name} must be a whole number` }).min(min, { error: `${name} must be at least ${min}` }).max(max, { error: `${name} must be at most ${max}` });

export const ServeEnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { error: 'DATABASE_URL must be a postgres:// URL' })
    .optional(),
  BAKEOFF_PGLITE_DIR: z.string().min(1).default(path.join(stateDir, 'pglite')),
  BAKEOFF_SERVE_HOST: z.union([z.ipv4(), z.ipv6(), z.literal('localhost')], { error: 'BAKEOFF_SERVE_HOST must be an IP address or localhost' }).default('127.0.0.1'),
  BAKEOFF_SERVE_PORT: int('BAKEOFF_SERVE_PORT', 0, 65535).default(8088),
  BAKEOFF_LANE: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, { error: 'BAKEOFF_LANE must be lowercase letters, digits, _ (max 31)' }).default('default'),
  BAKEOFF_SERVE_TAU: z.coerce.number({ error: 'BAKEOFF_SERVE_TAU must be a number' }).min(-1).max(1).optional(),
  BAKEOFF_SERVE_TAU_FILE: z.string().min(1).default(path.join(stateDir, 'serve', 'quality-tau.json')),
  BAKEOFF_SERVE_SAMPLE: int('BAKEOFF_SERVE_SAMPLE', 1, 10_000_000).optional(),
  BAKEOFF_SERVE_RATE: z.coerce.number({ error: 'BAKEOFF_SERVE_RATE must be a number' }).positive().default(2000),
  BAKEOFF_SERVE_BURST: int('BAKEOFF_SERVE_BURST', 1, 1_000_000).default(4000),
  BAKEOFF_SERVE_MAX_IN_FLIGHT: int('BAKEOFF_SERVE_MAX_IN_FLIGHT', 1, 100_000).default(256),
  BAKEOFF_SERVE_POLL_MS: int('BAKEOFF_SERVE_POLL_MS', 20, 1000).default(250),
  BAKEOFF_SERVE_KPI_WINDOW_MS: int('BAKEOFF_SERVE_KPI_WINDOW_MS', 1000, 3_600_000).default(10_000),
  BAKEOFF_INDEX_DIR: z.string().min(1).default(path.join(stateDir, 'indexes')),
  BAKEOFF_SERVE_CANDIDATE_DELAY_MS: z.coerce.number({ error: 'BAKEOFF_SERVE_CANDIDATE_DELAY_MS must be a number' }).min(0).max(60_000).default(0),
  BAKEOFF_SERVE_CANDIDATE_LATENCY_FACTOR: z.coerce.number({ error: 'BAKEOFF_SERVE_CANDIDATE_LATENCY_FACTOR must be a number' }).min(1).max(100).default(1),
  BAKEOFF_SERVE_BACKEND_LATENCY_MEDIAN_MS: z.coerce.number({ error: 'BAKEOFF_SERVE_BACKEND_LATENCY_MEDIAN_MS must be a number' }).min(0).max(10_000).default(0),
  BAKEOFF_SERVE_BACKEND_LATENCY_SIGMA: z.coerce.number({ error: 'BAKEOFF_SERVE_BACKEND_LATENCY_SIGMA must be a number' }).min(0).max(3).default(0.6),
});
export type ServeEnv = z.output<typeof ServeEnvSchema>;

export const SERVE_USAGE =
  'usage: node dist/serve/main.js [--sample N]   (settings come from the environment: see the header of src/serve/main.ts and docs/serving.md)';

/** The command line: only `--sample N` (the same flag as `bakeoff ingest`/`worker`), which sets BAKEOFF_SERVE_SAMPLE. */
export function serveArgsToEnv(argv: string[]): NodeJS.ProcessEnv {
  if (argv.length === 0) return {};
  if (argv.length === 2 && argv[0] === '--sample') return { BAKEOFF_SERVE_SAMPLE: argv[1] };
  const m = argv.length === 1 ? /^--sample=(.+)$/.exec(argv[0]) : null;
  if (m) return { BAKEOFF_SERVE_SAMPLE: m[1] };
  throw new ServeConfigError(`unexpected argument ${JSON.stringify(argv.join(' '))}; ${SERVE_USAGE}`);
}

/** Takes the embedded store's lock (.bakeoff/pglite.lock), released when the process exits. */
export function lockServeStore(env: Pick<ServeEnv, 'BAKEOFF_PGLITE_DIR'>): PgliteLock {
  return lockPglite(env.BAKEOFF_PGLITE_DIR, 'serve', SERVE_LABEL);
}
const SERVE_LABEL = 'npm run serve (node dist/serve/main.js)';

/** The train cases τ is calibrated on: the sample's when the lane was ingested from one, else the whole train split. */
export async function serveTrainCases(sample: number | undefined): Promise<EvalCase[]> {
  const cases = sample === undefined ? (await loadDataset(undefined, { split: 'train' })).cases : (await subsetForTests(sample)).cases;
  return cases.filter((c) => c.split === 'train');
}

export function loadServeEnv(env: NodeJS.ProcessEnv = process.env): ServeEnv {
  // An empty variable means "not set" (shells export VAR= easily).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ServeEnvSchema.safeParse(present);
  if (!parsed.success) throw new ServeConfigError(formatZodIssues(parsed.error, { root: '', separator: '; ' }));
  return parsed.data;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(SERVE_USAGE);
    return;
  }
  const env = loadServeEnv({ ...process.env, ...serveArgsToEnv(argv) });
  const log = (line: string) => console.log(`[serve] ${line}`);
  // The embedded store is one process's: refuse, in the CLI's words, while a worker or command holds it.
  if (!env.DATABASE_URL) lockServeStore(env);
  const db: Db = env.DATABASE_URL ? await openDb({ url: env.DATABASE_URL }) : await openDb({ dataDir: env.BAKEOFF_PGLITE_DIR });
  // The pointer poll gets a connection of its own, so it never waits behind searches (see ServeOptions).
  // A fresh store has no tables yet: create them, so a missing lane is one line, not a SQL stack.
  await ensurePlatformSchema(db);
  if (!(await readPointer(db, env.BAKEOFF_LANE))) {
    throw new ServeConfigError(`lane '${env.BAKEOFF_LANE}' has no live baseline in ${env.DATABASE_URL ? 'DATABASE_URL' : env.BAKEOFF_PGLITE_DIR}: create it with \`bakeoff ingest --baseline --lane ${env.BAKEOFF_LANE}\` (or set BAKEOFF_LANE)`);
  }
  const pointerDb: Db | null = env.DATABASE_URL ? await openDb({ url: env.DATABASE_URL, poolSize: 1 }) : null;
  const loadEmbedder = (name: string) => Embedder.load(name);
  const tau =
    env.BAKEOFF_SERVE_TAU ??
    (
      await laneTau({
        db, lane: env.BAKEOFF_LANE, indexDir: env.BAKEOFF_INDEX_DIR, file: env.BAKEOFF_SERVE_TAU_FILE, loadEmbedder, log,
        trainCases: () => serveTrainCases(env.BAKEOFF_SERVE_SAMPLE),
      })
    ).tau;
  const running = await startServing({
    db,
    pointerDb: pointerDb ?? undefined,
    lane: env.BAKEOFF_LANE,
    tau,
    indexDir: env.BAKEOFF_INDEX_DIR,
    loadEmbedder,
    // A replica on another machine loads the indexes the data workers published (PostgreSQL only).
    artifacts: env.DATABASE_URL ? await ArtifactStore.open(db) : undefined,
    pollMs: env.BAKEOFF_SERVE_POLL_MS,
    kpiWindowMs: env.BAKEOFF_SERVE_KPI_WINDOW_MS,
    candidatePenalty: { delayMs: env.BAKEOFF_SERVE_CANDIDATE_DELAY_MS, factor: env.BAKEOFF_SERVE_CANDIDATE_LATENCY_FACTOR },
    backendLatency: env.BAKEOFF_SERVE_BACKEND_LATENCY_MEDIAN_MS > 0 ? { medianMs: env.BAKEOFF_SERVE_BACKEND_LATENCY_MEDIAN_MS, sigma: env.BAKEOFF_SERVE_BACKEND_LATENCY_SIGMA } : undefined,
    http: {
      port: env.BAKEOFF_SERVE_PORT,
      host: env.BAKEOFF_SERVE_HOST,
      rateLimit: { perSecond: env.BAKEOFF_SERVE_RATE, burst: env.BAKEOFF_SERVE_BURST },
      maxInFlight: env.BAKEOFF_SERVE_MAX_IN_FLIGHT,
    },
    log,
  });
  log(`lane '${env.BAKEOFF_LANE}' on ${running.url} (POST /search, GET /health, GET /metrics); τ = ${tau.toFixed(4)}`);
  if (env.BAKEOFF_SERVE_CANDIDATE_DELAY_MS > 0 || env.BAKEOFF_SERVE_CANDIDATE_LATENCY_FACTOR > 1) {
    log(`DRILL: candidate searches slowed by ${env.BAKEOFF_SERVE_CANDIDATE_DELAY_MS} ms + ×${env.BAKEOFF_SERVE_CANDIDATE_LATENCY_FACTOR} (BAKEOFF_SERVE_CANDIDATE_*)`);
  }
  if (env.BAKEOFF_SERVE_BACKEND_LATENCY_MEDIAN_MS > 0) {
    log(`DRILL: every search waits a simulated backend LogNormal(${env.BAKEOFF_SERVE_BACKEND_LATENCY_MEDIAN_MS} ms, σ ${env.BAKEOFF_SERVE_BACKEND_LATENCY_SIGMA}) (BAKEOFF_SERVE_BACKEND_LATENCY_*)`);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: draining`);
    running
      .close()
      .then(() => pointerDb?.close())
      .then(() => db.close())
      .then(() => {
        log('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        console.error(err);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Mistakes a user can fix (settings, a lane never created, a missing model or dataset): one line, no stack. */
const USER_ERRORS = new Set(['ServeConfigError', 'CliError', 'ApplicationFailure', 'SideLoadError', 'DatasetError', 'ModelNotFoundError', 'ModelConfigError']);

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error && USER_ERRORS.has(err.name) ? `bakeoff serve: ${err.message}` : err);
    process.exit(1);
  });
}
