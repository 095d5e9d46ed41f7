// Builds the real activities from the environment: the store (DATABASE_URL → PostgreSQL, else PGlite
// in the state directory), the data plane (model, FAISS, dataset, loaded once per process) and the
// platform activities. The worker, the demo and the CLI's in-process commands all start here.
import * as path from 'node:path';
import { z } from 'zod';
import { openDb, type Db } from '../platform/db';
import { stateDir } from '../platform/paths';
import { ConfigError, describeIssues } from '../platform/temporal-config';
import { createActivities, ensurePlatformSchema, type WorkerActivities } from './index';
import { DataPlane, type DataPlaneDeps } from './data-plane';
import { createIngestShardActivities } from './ingest-shards';
import { lockCorpus } from './lock-corpus';
import { ThreadedEmbedder } from '../rag/threaded-embedder';
import { ArtifactStore } from '../store/artifacts';

const RuntimeEnv = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  BAKEOFF_HOME: z.string().min(1).optional(),
  BAKEOFF_REPORTS_DIR: z.string().min(1).optional(),
});

export interface Runtime {
  db: Db;
  plane: DataPlane;
  activities: WorkerActivities;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** postgres:// URL; absent = PGlite (in `pgliteDir`, or in-memory when that is null). */
  databaseUrl?: string;
  pgliteDir?: string | null;
  reportsDir?: string;
  dataPlane?: Omit<DataPlaneDeps, 'db'>;
  log?: (line: string) => void;
  /** Lets claimLane take over a lease whose owner workflow is closed (a worker passes workflowClosedVia(client)). */
  workflowClosed?: (workflowId: string) => Promise<boolean>;
  /**
   * Run the embedding model on a worker thread (src/rag/threaded-embedder.ts), so a worker's event
   * loop keeps heartbeating and polling during ingest and evaluation. Workers and the demo set it.
   */
  embedInThread?: boolean;
}

export function runtimeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeOptions {
  const parsed = RuntimeEnv.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) throw new ConfigError(`invalid settings:\n${describeIssues(parsed.error)}`);
  return {
    databaseUrl: parsed.data.DATABASE_URL,
    pgliteDir: path.join(stateDir, 'pglite'),
    reportsDir: parsed.data.BAKEOFF_REPORTS_DIR ?? path.join(stateDir, 'reports'),
  };
}

export async function createRuntime(opts: RuntimeOptions = runtimeOptionsFromEnv()): Promise<Runtime> {
  const db = await openDb({ url: opts.databaseUrl, dataDir: opts.databaseUrl ? undefined : (opts.pgliteDir ?? undefined) });
  await ensurePlatformSchema(db);
  const loadEmbedder = opts.embedInThread ? (name: string) => ThreadedEmbedder.load(name) : undefined;
  // On PostgreSQL, index builds are published to the shared artifact store (src/store/artifacts.ts) so
  // any worker or serving replica with the same DATABASE_URL loads them by hash. PGlite is one
  // process's database: nothing else could read them there, so it keeps plain files.
  const artifacts = opts.databaseUrl ? await ArtifactStore.open(db) : undefined;
  const plane = new DataPlane({ db, log: opts.log, ...(loadEmbedder ? { loadEmbedder } : {}), ...(artifacts ? { artifacts } : {}), ...opts.dataPlane });
  const activities = createActivities({
    db,
    reportsDir: opts.reportsDir,
    ...(artifacts ? { artifacts } : {}),
    log: opts.log,
    workflowClosed: opts.workflowClosed,
    dataPlane: {
      lockCorpus: (i) => lockCorpus(plane, i),
      shadowIngest: (i) => plane.shadowIngest(i),
      ...createIngestShardActivities(plane, db, opts.log),
      evaluate: (i) => plane.evaluate(i),
      evaluatePair: (i) => plane.evaluatePair(i),
      runProbes: (i) => plane.runProbes(i),
    },
  });
  return {
    db,
    plane,
    activities,
    async close() {
      await plane.close();
      await db.close();
    },
  };
}

/** For src/worker.ts: the activities plus how to release what they hold. */
export async function buildActivities(
  extra: Pick<RuntimeOptions, 'workflowClosed' | 'embedInThread'> = {},
): Promise<{ activities: WorkerActivities; close: () => Promise<void> }> {
  const rt = await createRuntime({ ...runtimeOptionsFromEnv(), ...extra });
  return { activities: rt.activities, close: () => rt.close() };
}
