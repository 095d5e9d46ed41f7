// Rollback latency: rollback signal sent → active pointer back on the baseline, p50/p95 over repeated
// bakeoffs (issue 4 target: p95 ≤ 0.5 s with a worker up). Real Temporal dev server, real PostgreSQL,
// real worker with the real pointer/backup/canary/rollback activities. The data plane (ingest /
// evaluate / probes) of the MEASURED bakeoffs is the workflow tests' FIXTURE (scripted KPIs): it only
// gets each of them to its canary stage, and nothing it does lies on the measured path.
//
// --loaded (issue 17) adds the same measurement while the REAL data plane is busy: a data worker in
// a second process (bench/rollback-load-worker.ts: real model, FAISS, PostgreSQL, `--role data`)
// runs an ingest and two evaluations of two real bakeoffs (load bakeoff A's candidate/baseline
// evaluations while load bakeoff B ingests). The control workers (workflows, pointer, rollback) stay in
// this process; the measured bakeoffs hold at 10 % until the load is running, then are rolled back
// one at a time. Each loaded run records whether the full load (A evaluating, B ingesting) was on.
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/rollback-latency.js [--runs 10] [--loaded] [--cases 40] [--data-cpu 1]
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities, ensurePlatformSchema } from '../src/activities';
import { startBakeoff } from '../src/client/bakeoff';
import { openDb, type Db } from '../src/platform/db';
import { startPostgres } from '../src/platform/postgres-server';
import { startDevServer } from '../src/platform/temporal-dev-server';
import { BakeoffWorkers, createBakeoffWorker } from '../src/worker';
import type { bakeoff } from '../src/workflows/bakeoff';
import { rollbackSignal, statusQuery } from '../src/workflows/messages';
import { createChunkTable, createFixtureDataPlane, HEALTHY } from '../test/fixtures/data-plane';
import { BASELINE_TABLE, bakeoffInput, createLane, pointerRow } from '../test/workflows/harness';
import { percentile } from '../src/rag/metrics';
import type { LoadWorkerReady } from './rollback-load-worker';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

function pct(xs: number[], p: number): number {
  return percentile(xs, p / 100);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `lanes.length` fixture bakeoffs on `taskQueue` and waits until each holds its 10 % split. */
async function holdAtCanary(client: Client, db: Db, taskQueue: string, lanes: string[]): Promise<WorkflowHandle<typeof bakeoff>[]> {
  const handles: WorkflowHandle<typeof bakeoff>[] = [];
  for (const lane of lanes) {
    await createLane(db, lane);
    handles.push(
      await startBakeoff(client, bakeoffInput(lane, `v${lane}`, { ramp: [{ percent: 10, soak: '1h' }], checkInterval: '1h', searchAttributes: false }), {
        taskQueue,
        workflowId: `rollback-bench-${lane}-${Date.now()}`,
      }),
    );
  }
  for (const [i, handle] of handles.entries()) {
    for (;;) {
      const st = await handle.query(statusQuery);
      if (st.phase === 'canary' && (await pointerRow(db, lanes[i])).canary_percent === 10) break;
      if (['failed', 'done', 'rolled-back'].includes(st.phase)) throw new Error(`${lanes[i]} ended in ${st.phase} before its canary`);
      await sleep(50);
    }
  }
  return handles;
}

/** Rollback signal → pointer restored (polling the pointer row every 5 ms). */
async function measureRollback(db: Db, handle: WorkflowHandle<typeof bakeoff>, lane: string): Promise<number> {
  const t0 = performance.now();
  await handle.signal(rollbackSignal, { reason: 'bench', by: 'bench' });
  while ((await pointerRow(db, lane)).canary_percent !== 0) await sleep(5);
  return performance.now() - t0;
}

async function idleRuns(client: Client, db: Db, nativeConnection: NativeConnection, runs: number): Promise<number[]> {
  const activities = createActivities({ db, dataPlane: createFixtureDataPlane(db, HEALTHY), log: () => undefined });
  const taskQueue = 'rollback-bench';
  const worker = await createBakeoffWorker({ connection: nativeConnection, namespace: 'default', taskQueue, activities });
  const latencies: number[] = [];
  await worker.runUntil(async () => {
    for (let i = 0; i < runs; i++) {
      const lane = `rb${i}`;
      const [handle] = await holdAtCanary(client, db, taskQueue, [lane]);
      const ms = await measureRollback(db, handle!, lane);
      latencies.push(ms);
      await handle!.result();
      process.stdout.write(`idle run ${i + 1}/${runs}: signal → pointer restored in ${ms.toFixed(0)} ms\n`);
    }
  });
  return latencies;
}

interface LoadedFigures {
  latencies: number[];
  fullLoad: boolean[];
  bootstrapMs: number;
}

async function loadedRuns(client: Client, db: Db, dbUrl: string, address: string, nativeConnection: NativeConnection, runs: number, tmp: string): Promise<LoadedFigures> {
  const cases = arg('cases', 40);
  const hotQueue = 'rollback-bench-hot';
  const loadQueue = 'rollback-bench-load';
  const loadLanes = ['load1', 'load2'];
  const child: ChildProcess = fork(path.join(__dirname, 'rollback-load-worker.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      DATABASE_URL: dbUrl,
      BENCH_TASK_QUEUE: loadQueue,
      BENCH_STATE_DIR: path.join(tmp, 'data-worker'),
      BENCH_LANES: loadLanes.join(','),
      BENCH_CASES: String(cases),
      BENCH_MAX_ACTIVITIES: '3',
    },
  });
  // --data-cpu N: the data worker on core N only (taskset -a: every thread, before the model spawns its
  // pool), as a deployment keeps data workers on their own machines (docs/scaling.md); on a 2-core box one
  // core stands in for the data machine. Absent: it competes with the control process for both cores.
  const dataCpu = process.argv.indexOf('--data-cpu') > 0 ? arg('data-cpu', 1) : undefined;
  if (dataCpu !== undefined && child.pid !== undefined) execFileSync('taskset', ['-a', '-p', '-c', String(dataCpu), String(child.pid)], { stdio: 'ignore' });
  const childExit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const ready = await Promise.race([
      new Promise<LoadWorkerReady>((r) => child.once('message', (m) => r(m as LoadWorkerReady))),
      childExit.then((code) => Promise.reject(new Error(`the data worker exited (${code}) before it was ready`))),
    ]);
    process.stdout.write(`data worker ready in ${(ready.bootstrapMs / 1000).toFixed(1)} s (real baseline ingest of ${cases} cases' corpus)\n`);
    // The measured bakeoffs: control + fixture data worker here; the load's control worker here too.
    const hotActivities = createActivities({ db, dataPlane: createFixtureDataPlane(db, HEALTHY), log: () => undefined });
    const hot = await createBakeoffWorker({ connection: nativeConnection, taskQueue: hotQueue, activities: hotActivities });
    const loadControl = await createBakeoffWorker({ connection: nativeConnection, taskQueue: loadQueue, role: 'control', activities: hotActivities });
    const workers = new BakeoffWorkers([...hot.workers, ...loadControl.workers]);
    return await workers.runUntil(async () => {
      const lanes = Array.from({ length: runs }, (_, i) => `rbl${i}`);
      const handles = await holdAtCanary(client, db, hotQueue, lanes);
      const loadInput = (lane: string, candidate: Record<string, unknown>) => ({
        candidate, baseline: { lane }, evalCases: { ref: 'faq:all', k: 10 }, requestedBy: 'bench',
        ramp: [{ percent: 10, soak: '1h' }], checkInterval: '1h', searchAttributes: false,
      });
      const a = await startBakeoff(client, loadInput(loadLanes[0]!, ready.candidates[0]!), { taskQueue: loadQueue, workflowId: `rollback-bench-load-a-${Date.now()}` });
      const tA = Date.now();
      for (;;) {
        const st = await a.query(statusQuery);
        if (st.ingest) break;
        if (['failed', 'done', 'rolled-back'].includes(st.phase)) throw new Error(`load bakeoff A ended in ${st.phase} during its ingest`);
        await sleep(200);
      }
      process.stdout.write(`load A ingested in ${((Date.now() - tA) / 1000).toFixed(1)} s; starting load B's ingest beside A's two evaluations\n`);
      const b = await startBakeoff(client, loadInput(loadLanes[1]!, ready.candidates[1]!), { taskQueue: loadQueue, workflowId: `rollback-bench-load-b-${Date.now()}` });
      await sleep(3_000); // B's ingest under way (lock and backup first)
      const latencies: number[] = [];
      const fullLoad: boolean[] = [];
      for (let i = 0; i < runs; i++) {
        const [sa, sb] = await Promise.all([a.query(statusQuery), b.query(statusQuery)]);
        const full = sa.phase === 'evaluating' && sb.phase === 'ingesting';
        const ms = await measureRollback(db, handles[i]!, lanes[i]!);
        latencies.push(ms);
        fullLoad.push(full);
        process.stdout.write(`loaded run ${i + 1}/${runs}: signal → pointer restored in ${ms.toFixed(0)} ms (load A ${sa.phase}, B ${sb.phase}; load avg ${os.loadavg()[0]!.toFixed(1)})\n`);
        await sleep(1_000);
      }
      for (const h of [a, b, ...handles]) await h.terminate('bench done').catch(() => undefined);
      return { latencies, fullLoad, bootstrapMs: ready.bootstrapMs };
    });
  } finally {
    child.disconnect?.();
    const stopped = await Promise.race([childExit.then(() => true), sleep(15_000).then(() => false)]);
    if (!stopped) child.kill('SIGKILL');
  }
}

function summary(label: string, xs: number[]): string {
  const p95 = pct(xs, 95);
  return `${label}: n ${xs.length}, p50 ${pct(xs, 50).toFixed(0)} ms, p95 ${p95.toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms (target p95 ≤ 500 ms: ${p95 <= 500 ? 'MET' : 'MISSED'})`;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const runs = arg('runs', 10);
  const loaded = process.argv.includes('--loaded');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-rollback-bench-'));
  const [pg, temporal] = await Promise.all([
    startPostgres({ dir: path.join(tmp, 'pg'), ephemeral: true }),
    startDevServer({ headless: true }),
  ]);
  const db = await openDb({ url: pg.url });
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  let idle: number[] = [];
  let load: LoadedFigures | null = null;
  const loadAvgStart = os.loadavg();
  try {
    await ensurePlatformSchema(db);
    await createChunkTable(db, BASELINE_TABLE, 30, 'baseline');
    idle = await idleRuns(client, db, nativeConnection, runs);
    if (loaded) load = await loadedRuns(client, db, pg.url, temporal.address, nativeConnection, runs, tmp);
  } finally {
    await connection.close();
    await nativeConnection.close();
    await db.close();
    await temporal.stop();
    await pg.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log('');
  console.log(summary('rollback latency, idle', idle));
  if (load) {
    console.log(summary('rollback latency, loaded', load.latencies));
    const full = load.latencies.filter((_, i) => load!.fullLoad[i]);
    if (full.length > 0) console.log(summary('  of which with the full load on (A evaluating, B ingesting)', full));
  }
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; load average at start ${loadAvgStart.map((x) => x.toFixed(1)).join(' ')}, at end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  if (load) console.log(process.argv.includes('--data-cpu') ? `data worker pinned to core ${arg('data-cpu', 1)} (taskset -a)` : 'data worker not pinned: it shares every core with the control process');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
