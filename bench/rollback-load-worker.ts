// The data worker of bench/rollback-latency.ts --loaded, a SEPARATE process (forked) as in a real
// deployment: the REAL data plane (all-MiniLM-L6-v2, FAISS, the FAQ dataset subset) on PostgreSQL,
// `--role data` on `<queue>-data`. Before it polls it bootstraps the load lanes' baseline (a real
// ingest) and sends the parent, over IPC, the candidate configs the load bakeoffs ingest.
import * as path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { z } from 'zod';
import { ensureBaselineLane } from '../src/activities/lane-bootstrap';
import { createRuntime } from '../src/activities/runtime';
import { subsetForTests } from '../src/data/dataset';
import { defaultCandidate } from '../src/rag/config';
import { initLane } from '../src/store/pointer';
import { createBakeoffWorker } from '../src/worker';

const Env = z.object({
  TEMPORAL_ADDRESS: z.string().min(1),
  DATABASE_URL: z.string().regex(/^postgres/),
  BENCH_TASK_QUEUE: z.string().min(1),
  BENCH_STATE_DIR: z.string().min(1),
  BENCH_LANES: z.string().min(1),
  BENCH_CASES: z.coerce.number().int().min(1),
  BENCH_MAX_ACTIVITIES: z.coerce.number().int().min(1),
});

export interface LoadWorkerReady {
  kind: 'ready';
  candidates: Record<string, unknown>[];
  bootstrapMs: number;
}

async function main(): Promise<void> {
  const env = Env.parse(process.env);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const say = (line: string) => process.stderr.write(`[data-worker] ${line}\n`);
  const t0 = Date.now();
  const runtime = await createRuntime({
    databaseUrl: env.DATABASE_URL,
    reportsDir: path.join(env.BENCH_STATE_DIR, 'reports'),
    dataPlane: {
      dataset: await subsetForTests(env.BENCH_CASES),
      indexDir: path.join(env.BENCH_STATE_DIR, 'indexes'),
      manifestDir: path.join(env.BENCH_STATE_DIR, 'eval'),
    },
  });
  const [first, ...others] = env.BENCH_LANES.split(',');
  const boot = await ensureBaselineLane({ db: runtime.db, plane: runtime.plane, lane: first, by: 'bench', log: say });
  // The other load lanes serve the same baseline table and index (their own pointer rows).
  for (const lane of others) {
    await initLane(runtime.db, { lane, liveTable: boot.pointer.liveTable, liveIndex: boot.pointer.liveIndex, liveConfigHash: boot.pointer.liveConfigHash, by: 'bench' });
  }
  const embedder = await runtime.plane.embedder('all-MiniLM-L6-v2');
  const model = { embedder: embedder.name, tokenizer: embedder.name, tokenizer_hash: embedder.tokenizerHash };
  const candidates = others.concat(first).map((lane) => ({ ...defaultCandidate(model, `vload_${lane}`, 'bench') }));
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const worker = await createBakeoffWorker({
    connection,
    taskQueue: env.BENCH_TASK_QUEUE,
    role: 'data',
    activities: runtime.activities,
    maxConcurrentActivityTaskExecutions: env.BENCH_MAX_ACTIVITIES,
  });
  process.send?.({ kind: 'ready', candidates, bootstrapMs: Date.now() - t0 } satisfies LoadWorkerReady);
  process.on('disconnect', () => worker.shutdown());
  await worker.run();
  await connection.close();
  await runtime.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
