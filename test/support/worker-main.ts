// Entry point of a bakeoff worker run as a CHILD PROCESS by the chaos, load and security suites
// (see worker-process.ts): the real workflow bundle, the real activities (src/activities/runtime:
// PostgreSQL, MiniLM, FAISS, the FAQ subset), so SIGKILL takes down exactly what it would in
// production. Only the embedder's chunk vectors come from the on-disk memo of the real model's own
// output (test/support/rag-fixture.ts) to keep restarts cheap; queries run the model live.
//
// Fault injection (WORKER_FAULTS, JSON) kills this process at precise points:
//   crashAfter:        SIGKILL right after the named activity's effect committed, before the server
//                      hears of it (the retry must find the audit row and change nothing);
//   crashBefore:       SIGKILL as the named activity starts (nothing applied yet);
//   delayMs:           stretch short activities so a kill can land inside them;
//   crashAfterIngestBatches: SIGKILL after this many committed ingest batches (a resume from the cursor);
//   embedDelayMs:      a slow embedder (each chunk batch takes this much longer), so an ingest lasts
//                      long enough for a fault to land in the middle of it.
import { Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import * as path from 'node:path';
import { z } from 'zod';
import { createRuntime } from '../../src/activities/runtime';
import { subsetForTests } from '../../src/data/dataset';
import { loadTemporalSettings } from '../../src/platform/temporal-config';
import { createBakeoffWorker } from '../../src/worker';
import { MemoEmbedder, realEmbedder } from './rag-fixture';

export const FaultPlanSchema = z.strictObject({
  crashAfter: z.strictObject({ activity: z.string().min(1), call: z.int().min(1).default(1) }).optional(),
  crashBefore: z.strictObject({ activity: z.string().min(1), call: z.int().min(1).default(1) }).optional(),
  delayMs: z.record(z.string(), z.int().min(0).max(600_000)).default({}),
  crashAfterIngestBatches: z.int().min(1).optional(),
  embedDelayMs: z.int().min(0).max(60_000).optional(),
});
export type FaultPlan = z.input<typeof FaultPlanSchema>;

const WorkerEnv = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  WORKER_STATE_DIR: z.string().min(1),
  WORKER_SUBSET_CASES: z.coerce.number().int().min(1).max(500),
  WORKER_BUNDLE: z.string().min(1).optional(),
  WORKER_MAX_ACTIVITIES: z.coerce.number().int().min(1).max(64).default(3),
  WORKER_INGEST_BATCH: z.coerce.number().int().min(1).max(1024).default(16),
  WORKER_FAULTS: z.string().default('{}'),
  WORKER_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  /** Sticky-queue schedule-to-start timeout in ms (bench/resume-latency.ts compares the SDK's 10 s). */
  WORKER_STICKY_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  /** Worker role (src/worker.ts): control, data or all (the default, one process for both queues). */
  WORKER_ROLE: z.enum(['control', 'data', 'all']).default('all'),
});

/** One line per event on stdout; the parent waits for READY and keeps the rest as the worker's log. */
function say(line: string): void {
  process.stdout.write(`${new Date().toISOString()} [worker ${process.pid}] ${line}\n`);
}

function die(why: string): never {
  say(`CHAOS: SIGKILL ${why}`);
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is delivered before the next tick; this only satisfies the type checker.
  throw new Error('unreachable');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wraps every activity with the fault plan; the real function still does the work. */
function withFaults<A extends object>(activities: A, plan: z.output<typeof FaultPlanSchema>): A {
  const calls = new Map<string, number>();
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    wrapped[name] = async (...args: unknown[]) => {
      const n = (calls.get(name) ?? 0) + 1;
      calls.set(name, n);
      const t0 = Date.now();
      const attempt = Context.current().info.attempt;
      if (name !== 'notify') say(`activity ${name} #${n} (attempt ${attempt}) started`);
      if (plan.crashBefore?.activity === name && plan.crashBefore.call === n) die(`before ${name} #${n}`);
      const delay = plan.delayMs[name];
      if (delay) await sleep(delay);
      const result = await fn(...args);
      if (name !== 'notify') say(`activity ${name} #${n} finished in ${Date.now() - t0} ms`);
      if (plan.crashAfter?.activity === name && plan.crashAfter.call === n) die(`after ${name} #${n} committed`);
      return result;
    };
  }
  return wrapped as A;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const env = WorkerEnv.parse(process.env);
  const plan = FaultPlanSchema.parse(JSON.parse(env.WORKER_FAULTS));
  Runtime.install({ logger: new DefaultLogger(env.WORKER_LOG_LEVEL as LogLevel) });
  const settings = loadTemporalSettings();
  if (!settings.address) throw new Error('TEMPORAL_ADDRESS is not set');

  const dataset = await subsetForTests(env.WORKER_SUBSET_CASES);
  const memo = new MemoEmbedder(await realEmbedder());
  const embedder: MemoEmbedder = plan.embedDelayMs ? Object.create(memo) : memo;
  if (plan.embedDelayMs) {
    const delay = plan.embedDelayMs;
    embedder.embed = async (texts) => {
      await sleep(delay);
      return memo.embed(texts);
    };
  }
  let batches = 0;
  const runtime = await createRuntime({
    databaseUrl: env.DATABASE_URL,
    reportsDir: path.join(env.WORKER_STATE_DIR, 'reports'),
    log: say,
    dataPlane: {
      dataset,
      loadEmbedder: async () => embedder,
      indexDir: path.join(env.WORKER_STATE_DIR, 'indexes'),
      manifestDir: path.join(env.WORKER_STATE_DIR, 'eval'),
      ingestBatchSize: env.WORKER_INGEST_BATCH,
      onIngestProgress: (p) => {
        batches += 1;
        if (plan.crashAfterIngestBatches !== undefined && batches >= plan.crashAfterIngestBatches && p.docsDone < p.docsTotal) {
          die(`mid-ingest after ${batches} batches (cursor ${p.docsDone}/${p.docsTotal})`);
        }
      },
    },
  });
  const connection = await NativeConnection.connect({ address: settings.address, ...settings.connection });
  const worker = await createBakeoffWorker({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    role: env.WORKER_ROLE,
    activities: withFaults(runtime.activities, plan),
    maxConcurrentActivityTaskExecutions: env.WORKER_MAX_ACTIVITIES,
    extra: {
      ...(env.WORKER_BUNDLE ? { workflowBundle: { codePath: env.WORKER_BUNDLE } } : {}),
      // A dead worker's sticky queue holds workflow tasks this long before the server moves them to
      // the shared queue (SDK default 10 s; the chaos suites restart within seconds).
      stickyQueueScheduleToStartTimeout: env.WORKER_STICKY_TIMEOUT_MS,
    },
  });
  say(`READY in ${Date.now() - t0} ms (process up ${Math.round(process.uptime() * 1000)} ms): task queue ${settings.taskQueue}, ${dataset.docs.length} docs / ${dataset.cases.length} cases, faults ${JSON.stringify(plan)}, role ${env.WORKER_ROLE}`);
  try {
    await worker.run();
  } finally {
    await connection.close();
    await runtime.close();
    say('stopped');
  }
}

main().catch((err: unknown) => {
  say(`FATAL ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
