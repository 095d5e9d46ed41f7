// Shared set-up for the bakeoff workflow tests: a time-skipping Temporal test server, a real PGlite
// database with the platform schema and a baseline lane, a worker running the real workflow bundle
// with the real platform activities (and the FIXTURE data plane, see test/fixtures/data-plane.ts),
// and a traffic writer that plays the serving path by inserting live_kpis windows.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { createBakeoffWorker, type BakeoffWorkers } from '../../src/worker';
import { createActivities, ensurePlatformSchema } from '../../src/activities';
import { initLane } from '../../src/store/pointer';
import { startBakeoff } from '../../src/client/bakeoff';
import { openDb, type Db } from '../../src/platform/db';
import { binDir } from '../../src/platform/paths';
import { timeSkippingServerPath } from '../../src/platform/test-server';
import { defaultCandidate } from '../../src/rag/config';
import type { bakeoff } from '../../src/workflows/bakeoff';
import { SEARCH_ATTRIBUTE_CONFIG_HASH, SEARCH_ATTRIBUTE_OUTCOME, SEARCH_ATTRIBUTE_PHASE, statusQuery, type BakeoffInputRaw } from '../../src/workflows/messages';
import { temporal } from '@temporalio/proto';
import type { BakeoffStatus } from '../../src/workflows/types';
import { normalCdf } from '../../src/workflows/breach-significance';
import { addToBucket, bucketLowerMs, emptyHistogram } from '../../src/workflows/latency-histogram';
import { DEFAULT_LAYOUT, type LatencyHistogram } from '../../src/workflows/live-evidence';
import { createChunkTable, createFixtureDataPlane, type FixtureDataPlane, type FixtureScript } from '../fixtures/data-plane';

export const BASELINE_TABLE = 'document_chunks_v512_o0_nodedup';
export const BASELINE_HASH = 'b'.repeat(64);

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  // The SDK gives the JVM 5 s to answer; on a loaded 2-core machine that can miss, so try again.
  let env: TestWorkflowEnvironment | undefined;
  for (let attempt = 1; !env; attempt++) {
    try {
      env = await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: timeSkippingServerPath() } },
      });
    } catch (err) {
      if (attempt >= 3) throw err;
      process.stderr.write(`[harness] time-skipping server did not answer in time (attempt ${attempt}), retrying\n`);
    }
  }
  // The test server implements AddSearchAttributes (not List): register ours like an operator would.
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: {
      [SEARCH_ATTRIBUTE_PHASE]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      [SEARCH_ATTRIBUTE_CONFIG_HASH]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      [SEARCH_ATTRIBUTE_OUTCOME]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    },
  });
  return env;
}

let bundlePromise: Promise<WorkflowBundle> | undefined;
/** One webpack bundle per test file: the real workflows module, as the worker ships it. */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundlePromise ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quietLogger });
  return bundlePromise;
}

const quietLogger = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined,
  warn: (m: string) => process.stderr.write(`[bundle] ${m}\n`), error: (m: string) => process.stderr.write(`[bundle] ${m}\n`),
};

/** A PGlite database with the platform tables, a baseline chunk table and a pointer for `lane`. */
export async function openTestDb(): Promise<Db> {
  const db = await openDb();
  await ensurePlatformSchema(db);
  await createChunkTable(db, BASELINE_TABLE, 30, 'baseline');
  return db;
}

export async function createLane(db: Db, lane: string): Promise<void> {
  await initLane(db, { lane, liveTable: BASELINE_TABLE, liveIndex: null, liveConfigHash: BASELINE_HASH, by: 'test-bootstrap' });
}

/** A valid candidate config; chunk_version varies per test so shadow tables do not collide. */
export function candidateConfig(chunkVersion: string): Record<string, unknown> {
  return { ...defaultCandidate({ embedder: 'all-MiniLM-L6-v2', tokenizer: 'bert-base-uncased', tokenizer_hash: 'deadbeefcafe' }, chunkVersion) };
}

export function bakeoffInput(lane: string, chunkVersion: string, over: Partial<BakeoffInputRaw> = {}): BakeoffInputRaw {
  return {
    candidate: candidateConfig(chunkVersion),
    baseline: { lane },
    evalCases: { ref: 'fixture:dev', smokeCases: 10 },
    requestedBy: 'test',
    ...over,
  };
}

export interface Rig {
  env: TestWorkflowEnvironment;
  db: Db;
  plane: FixtureDataPlane;
  logs: string[];
  taskQueue: string;
  /** Control and data worker (src/worker.ts, role all): heavy steps run on `<taskQueue>-data`. */
  worker: BakeoffWorkers;
}

export async function createRig(
  env: TestWorkflowEnvironment,
  db: Db,
  script: FixtureScript,
  taskQueue: string,
  workerOptions: { maxCachedWorkflows?: number } = {},
): Promise<Rig> {
  const plane = createFixtureDataPlane(db, script);
  const logs: string[] = [];
  const activities = createActivities({ db, dataPlane: plane, log: (l) => logs.push(l) });
  const worker = await createBakeoffWorker({
    connection: env.nativeConnection,
    taskQueue,
    activities,
    extra: { workflowBundle: await workflowBundle(), ...workerOptions },
  });
  return { env, db, plane, logs, taskQueue, worker };
}

export async function start(rig: Rig, input: BakeoffInputRaw, workflowId: string): Promise<WorkflowHandleWithFirstExecutionRunId<typeof bakeoff>> {
  return startBakeoff(rig.env.client, input, { taskQueue: rig.taskQueue, workflowId });
}

/** Polls the status query (real time; the test server does not skip time while we poll). */
export async function waitForStatus(
  handle: WorkflowHandle<typeof bakeoff>,
  predicate: (s: BakeoffStatus) => boolean,
  timeoutMs = 30_000,
): Promise<BakeoffStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: BakeoffStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = await handle.query(statusQuery);
      if (predicate(last)) return last;
    } catch {
      // the first workflow task may not have run yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`status condition not reached in ${timeoutMs} ms; last status: ${JSON.stringify(last && { phase: last.phase, stage: last.stage, events: last.events.slice(-5) })}`);
}

export interface SideTraffic {
  samples: number;
  errorRate: number;
  p95Ms: number;
  qualityProxy: number;
}

export const HEALTHY_TRAFFIC: SideTraffic = { samples: 400, errorRate: 0.002, p95Ms: 22, qualityProxy: 0.8 };

/**
 * The latency histogram of `samples` requests of a lognormal side (σ 0.6) whose p95 is p95Ms: each
 * bucket holds its expected count (largest-remainder rounding), what a recorder would build on average.
 */
export function lognormalHistogram(samples: number, p95Ms: number, sigma = 0.6): LatencyHistogram {
  const layout = DEFAULT_LAYOUT;
  const median = p95Ms / Math.exp(sigma * 1.6448536);
  const cdf = (ms: number) => (ms <= 0 ? 0 : normalCdf(Math.log(ms / median) / sigma));
  const shares = Array.from({ length: layout.buckets }, (_, i) =>
    (i === layout.buckets - 1 ? 1 : cdf(bucketLowerMs(i + 1, layout))) - (i === 0 ? 0 : cdf(bucketLowerMs(i, layout))),
  );
  const counts = shares.map((p) => Math.floor(p * samples));
  const order = shares.map((p, i) => ({ i, rest: p * samples - counts[i] })).sort((a, b) => b.rest - a.rest);
  for (let k = 0, left = samples - counts.reduce((a, b) => a + b, 0); k < left; k++) counts[order[k].i] += 1;
  let h = emptyHistogram(layout);
  counts.forEach((c, i) => (h = addToBucket(h, i, c)));
  return h;
}

/**
 * Plays the serving path: one live_kpis row per side per window over [fromMs, toMs) — what the
 * retrieval service writes from real requests: the old aggregate columns and the poolable ones
 * (exact counts and a latency histogram, see lognormalHistogram). Generated in SQL so 48 h of
 * 5-minute windows is one statement.
 */
export async function writeTraffic(
  db: Db,
  lane: string,
  side: 'baseline' | 'candidate',
  fromMs: number,
  toMs: number,
  t: SideTraffic,
  windowMs = 5 * 60_000,
  traffic: 'live' | 'mirror' = 'live',
): Promise<number> {
  const errors = Math.round(t.errorRate * t.samples);
  const qualityN = t.samples - errors;
  const r = await db.query(
    `INSERT INTO live_kpis (lane, side, window_start, window_end, samples, error_rate, p95_ms, quality_proxy, errors, quality_n, quality_hits, cached_answers, latency_hist, traffic)
     SELECT $1, $2, to_timestamp(w / 1000.0), to_timestamp((w + $4) / 1000.0), $5, $6, $7, $8, $10, $11, $12, 0, $13::jsonb, $14
       FROM generate_series($3::bigint, $9::bigint - $4::bigint, $4::bigint) AS w`,
    [lane, side, Math.floor(fromMs), windowMs, t.samples, t.errorRate, t.p95Ms, t.qualityProxy, Math.floor(toMs),
      errors, qualityN, Math.round(t.qualityProxy * qualityN), JSON.stringify(lognormalHistogram(t.samples, t.p95Ms)), traffic],
  );
  return r.rowCount;
}

/**
 * Mirrored pairs on both sides (traffic 'mirror'), as the serving path records them while a 100 %
 * stage mirrors the candidate (src/workflows/full-stage-mirror.ts): that stage is judged on these.
 */
export async function writeMirrorTraffic(db: Db, lane: string, fromMs: number, toMs: number, baseline: SideTraffic, candidate = baseline): Promise<void> {
  await writeTraffic(db, lane, 'baseline', fromMs, toMs, baseline, undefined, 'mirror');
  await writeTraffic(db, lane, 'candidate', fromMs, toMs, candidate, undefined, 'mirror');
}

export async function pointerRow(db: Db, lane: string) {
  const r = await db.query<{ live_table: string; candidate_table: string | null; canary_percent: number; version: string }>(
    'SELECT live_table, candidate_table, canary_percent, version FROM serving_pointer WHERE lane = $1',
    [lane],
  );
  return { ...r.rows[0], version: Number(r.rows[0].version) };
}

export async function pointerActions(db: Db, lane: string): Promise<string[]> {
  const r = await db.query<{ action: string; canary_percent: number }>(
    'SELECT action, canary_percent FROM serving_pointer_history WHERE lane = $1 ORDER BY version',
    [lane],
  );
  return r.rows.map((x) => (x.action === 'split' ? `split:${x.canary_percent}` : x.action));
}

export async function auditCounts(db: Db, workflowId: string): Promise<Record<string, number>> {
  const r = await db.query<{ activity: string; n: number }>(
    'SELECT activity, count(*)::int AS n FROM activity_audit WHERE workflow_id = $1 GROUP BY activity',
    [workflowId],
  );
  return Object.fromEntries(r.rows.map((x) => [x.activity, x.n]));
}

/** Event counts of every run of a continue-as-new chain, oldest first. */
export async function runHistoryLengths(env: TestWorkflowEnvironment, workflowId: string, firstRunId: string): Promise<number[]> {
  const out: number[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    out.push(history.events?.length ?? 0);
    runId = history.events?.[history.events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return out;
}

/**
 * Saves every run of a workflow (continue-as-new chain) for the replay test. Opt-in: RECORD_HISTORIES=1.
 * Written by the Temporal CLI (`temporal workflow show --output json`), the format every Temporal
 * tool reads back (the SDK's own historyToJSON trips over two protobufjs copies in this install).
 */
export async function maybeRecordHistory(env: TestWorkflowEnvironment, workflowId: string, name: string, firstRunId?: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const dir = path.join(__dirname, '..', 'fixtures', 'histories');
  fs.mkdirSync(dir, { recursive: true });
  let runId: string | undefined = firstRunId;
  for (let n = 1; runId; n++) {
    const json = execFileSync(
      path.join(binDir, 'temporal'),
      ['workflow', 'show', '--address', env.address, '--namespace', 'default', '-w', workflowId, '-r', runId, '--output', 'json'],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    );
    fs.writeFileSync(path.join(dir, `${name}.run${n}.json`), json);
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    runId = history.events?.[history.events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
}
