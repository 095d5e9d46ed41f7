// The operator-surface tests' rig: the REAL Temporal dev server of the global setup
// (BAKEOFF_TEST_TEMPORAL_ADDRESS, search attributes BakeoffPhase/ConfigHash/BakeoffDryRun registered),
// a scratch database on the REAL PostgreSQL of the global setup (so `bakeoff pointer` / `backup` in a
// child process see what the worker wrote), and a worker running the real workflow bundle with the
// real platform activities (pointer, backup, canary, rollback, promote, audit, report).
//
// The data plane (ingest / evaluate / probes) is the workflow tests' FIXTURE (test/fixtures/data-plane.ts):
// a real ingest of the FAQ corpus with the real model takes minutes per config on this machine, and these
// tests are about the operator's surfaces, which need a bakeoff that reliably reaches a chosen phase
// (canary, awaiting-operator, a failed gate). The real data plane is exercised by test/rag and the
// workflow engineer's end-to-end tests.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createBakeoffWorker, type BakeoffWorkers } from '../../src/worker';
import { Client as PgClient } from 'pg';
import YAML from 'yaml';
import { createActivities, ensurePlatformSchema } from '../../src/activities';
import { initLane } from '../../src/store/pointer';
import { openDb, type Db } from '../../src/platform/db';
import { statusQuery } from '../../src/workflows/messages';
import type { BakeoffStatus } from '../../src/workflows/types';
import { createChunkTable, createFixtureDataPlane, type FixtureDataPlane, type FixtureScript } from '../fixtures/data-plane';
import { BASELINE_HASH, BASELINE_TABLE, candidateConfig, workflowBundle } from '../workflows/harness';

export const TEMPORAL_ADDRESS = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS;
export const PG_URL = process.env.BAKEOFF_TEST_PG_URL;

async function admin(sql: string): Promise<void> {
  const c = new PgClient({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export interface OpsRig {
  address: string;
  taskQueue: string;
  client: Client;
  db: Db;
  dbUrl: string;
  home: string;
  /** Environment for CLI calls (in-process or child process): this rig's server, queue and store. */
  env: NodeJS.ProcessEnv;
  /** Starts a worker on `taskQueue` (default: the rig's); its fixture KPIs can be changed through `plane.script`. */
  startWorker(script: FixtureScript, taskQueue?: string): Promise<FixtureDataPlane>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function createOpsRig(name: string): Promise<OpsRig> {
  if (!TEMPORAL_ADDRESS || !PG_URL) throw new Error('BAKEOFF_TEST_TEMPORAL_ADDRESS and BAKEOFF_TEST_PG_URL must be set (test/global-setup.ts)');
  const dbName = `ops_${name}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${dbName}`);
  const url = new URL(PG_URL);
  url.pathname = `/${dbName}`;
  const dbUrl = url.toString();
  const db = await openDb({ url: dbUrl, poolSize: 4 });
  await ensurePlatformSchema(db);
  await createChunkTable(db, BASELINE_TABLE, 30, 'baseline');

  const connection = await Connection.connect({ address: TEMPORAL_ADDRESS });
  const client = new Client({ connection });
  const nativeConnection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
  const taskQueue = `ops-${name}-${randomBytes(3).toString('hex')}`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `bakeoff-ops-${name}-`));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    USER: 'oncall-test',
    TEMPORAL_ADDRESS,
    BAKEOFF_TASK_QUEUE: taskQueue,
    DATABASE_URL: dbUrl,
    BAKEOFF_HOME: home,
    ...(process.env.BAKEOFF_CACHE ? { BAKEOFF_CACHE: process.env.BAKEOFF_CACHE } : {}),
    ...(process.env.BAKEOFF_MODEL_DIR ? { BAKEOFF_MODEL_DIR: process.env.BAKEOFF_MODEL_DIR } : {}),
  };
  let running: { worker: BakeoffWorkers; done: Promise<void> } | null = null;

  const rig: OpsRig = {
    address: TEMPORAL_ADDRESS,
    taskQueue,
    client,
    db,
    dbUrl,
    home,
    env,
    async startWorker(script, queue = taskQueue) {
      if (running) throw new Error('worker already running');
      const plane = createFixtureDataPlane(db, script);
      const worker = await createBakeoffWorker({
        connection: nativeConnection,
        taskQueue: queue,
        extra: { workflowBundle: await workflowBundle() },
        // Notification log lines (no webhook in tests) are kept out of the test output.
        activities: createActivities({ db, dataPlane: plane, log: () => undefined }),
      });
      running = { worker, done: worker.run() };
      return plane;
    },
    async stopWorker() {
      if (!running) return;
      const r = running;
      running = null;
      r.worker.shutdown();
      await r.done;
    },
    async close() {
      await rig.stopWorker();
      await connection.close();
      await nativeConnection.close();
      await db.close();
      await admin(`DROP DATABASE IF EXISTS ${dbName}`).catch(() => undefined);
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
  return rig;
}

export async function createLane(db: Db, lane: string): Promise<void> {
  await initLane(db, { lane, liveTable: BASELINE_TABLE, liveIndex: null, liveConfigHash: BASELINE_HASH, by: 'test-bootstrap' });
}

/** Writes a bakeoff input file the way an operator would (YAML), for a fresh chunk_version. */
export function writeInputFile(dir: string, name: string, lane: string, chunkVersion: string, over: Record<string, unknown> = {}): string {
  const input = {
    candidate: candidateConfig(chunkVersion),
    baseline: { lane },
    evalCases: { ref: 'faq:dev', smokeCases: 10 },
    // Long soaks and checks: the bakeoff sits in stage 1 while the test acts on it.
    ramp: [
      { percent: 10, soak: '1h' },
      { percent: 50, soak: '1h' },
    ],
    checkInterval: '1h',
    // The CLI adds a shadow stage by default (src/client/shadow-defaults.ts); these tests act on the canary.
    shadow: false,
    ...over,
  };
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, YAML.stringify(input));
  return file;
}

/** Polls the status query until predicate holds (real time, real server). */
export async function waitForStatus(client: Client, workflowId: string, predicate: (s: BakeoffStatus) => boolean, timeoutMs = 30_000): Promise<BakeoffStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: BakeoffStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = await client.workflow.getHandle(workflowId).query(statusQuery);
      if (predicate(last)) return last;
    } catch {
      // not started yet, or no worker answering right now
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`status of ${workflowId} did not reach the condition in ${timeoutMs} ms; last: ${JSON.stringify(last && { phase: last.phase, paused: last.paused, stage: last.stage, events: last.events.slice(-5) })}`);
}

/** Visibility is eventually consistent: poll a list until predicate holds. */
export async function eventually<T>(fn: () => Promise<T>, ok: (t: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    last = await fn();
  }
  return last;
}

export async function pointerState(db: Db, lane: string) {
  const r = await db.query<{ live_table: string; candidate_table: string | null; canary_percent: number; version: string }>(
    'SELECT live_table, candidate_table, canary_percent, version FROM serving_pointer WHERE lane = $1',
    [lane],
  );
  return { ...r.rows[0], version: Number(r.rows[0].version) };
}

export async function pointerActions(db: Db, lane: string): Promise<string[]> {
  const r = await db.query<{ action: string; canary_percent: number }>('SELECT action, canary_percent FROM serving_pointer_history WHERE lane = $1 ORDER BY version', [lane]);
  return r.rows.map((x) => (x.action === 'split' ? `split:${x.canary_percent}` : x.action));
}
