// Rollback latency: rollback signal sent → active pointer back on the baseline, p50/p95 over repeated
// bakeoffs (issue 4 target: p95 ≤ 0.5 s with a worker up). Real Temporal dev server, real PostgreSQL,
// real worker with the real pointer/backup/canary/rollback activities. The data plane (ingest /
// evaluate / probes) is the workflow tests' FIXTURE (scripted KPIs): it only gets each bakeoff to its
// canary stage, and nothing it does lies on the measured path.
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/rollback-latency.js [--runs 10]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities, ensurePlatformSchema } from '../src/activities';
import { startBakeoff } from '../src/client/bakeoff';
import { openDb } from '../src/platform/db';
import { startPostgres } from '../src/platform/postgres-server';
import { startDevServer } from '../src/platform/temporal-dev-server';
import { createBakeoffWorker } from '../src/worker';
import { rollbackSignal, statusQuery } from '../src/workflows/messages';
import { createChunkTable, createFixtureDataPlane, HEALTHY } from '../test/fixtures/data-plane';
import { BASELINE_TABLE, bakeoffInput, createLane, pointerRow } from '../test/workflows/harness';
import { percentile } from '../src/rag/metrics';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

function pct(xs: number[], p: number): number {
  return percentile(xs, p / 100);
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const runs = arg('runs', 10);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-rollback-bench-'));
  const [pg, temporal] = await Promise.all([
    startPostgres({ dir: path.join(tmp, 'pg'), ephemeral: true }),
    startDevServer({ headless: true }),
  ]);
  const db = await openDb({ url: pg.url });
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const latencies: number[] = [];
  try {
    await ensurePlatformSchema(db);
    await createChunkTable(db, BASELINE_TABLE, 30, 'baseline');
    const activities = createActivities({ db, dataPlane: createFixtureDataPlane(db, HEALTHY), log: () => undefined });
    const taskQueue = 'rollback-bench';
    const worker = await createBakeoffWorker({ connection: nativeConnection, namespace: 'default', taskQueue, activities });
    await worker.runUntil(async () => {
      for (let i = 0; i < runs; i++) {
        const lane = `rb${i}`;
        await createLane(db, lane);
        const handle = await startBakeoff(
          client,
          bakeoffInput(lane, `vrb${i}`, { ramp: [{ percent: 10, soak: '1h' }], checkInterval: '1h', searchAttributes: false }),
          { taskQueue, workflowId: `rollback-bench-${Date.now()}-${i}` },
        );
        for (;;) {
          const st = await handle.query(statusQuery);
          if (st.phase === 'canary' && (await pointerRow(db, lane)).canary_percent === 10) break;
          if (['failed', 'done', 'rolled-back'].includes(st.phase)) throw new Error(`run ${i} ended in ${st.phase} before its canary`);
          await new Promise((r) => setTimeout(r, 50));
        }
        const t0 = performance.now();
        await handle.signal(rollbackSignal, { reason: 'bench', by: 'bench' });
        while ((await pointerRow(db, lane)).canary_percent !== 0) await new Promise((r) => setTimeout(r, 5));
        const ms = performance.now() - t0;
        latencies.push(ms);
        await handle.result();
        process.stdout.write(`run ${i + 1}/${runs}: signal → pointer restored in ${ms.toFixed(0)} ms\n`);
      }
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
    await db.close();
    await temporal.stop();
    await pg.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const p50 = pct(latencies, 50);
  const p95 = pct(latencies, 95);
  console.log(`\nrollback latency over ${runs} runs: p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms (target p95 ≤ 500 ms: ${p95 <= 500 ? 'MET' : 'MISSED'})`);
  console.log(`load average at end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
