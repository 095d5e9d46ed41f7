// The bakeoff worker, in one of two roles on two task queues (issue 17):
// - control: every workflow type and the short platform activities (pointer, backup, rollback,
//   notify, reports, lane lease, mirror) on the configured queue;
// - data: the heavy data-plane activities (ingest, evaluate, probes) on `<queue>-data`
//   (src/workflows/task-queues.ts), so a rollback never waits for a slot behind an hour-long ingest;
// - all: both in this process (the demo, tests, a one-machine install).
// Connection settings come from the environment (validated, see src/platform/temporal-config.ts);
// SIGINT/SIGTERM drain in-flight tasks before exit (Temporal's Runtime installs those handlers).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type State, type WorkerOptions } from '@temporalio/worker';
import { z } from 'zod';
import type { WorkerActivities } from './activities';
import { ConfigError, loadTemporalSettings } from './platform/temporal-config';
import { CliError } from './cli/errors';
import { lockPglite } from './cli/pglite-lock';
import { DATA_ACTIVITY_NAMES, dataTaskQueueFor } from './workflows/task-queues';

export const WORKER_ROLES = ['control', 'data', 'all'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];
export const WorkerRoleSchema = z.enum(WORKER_ROLES, { error: (iss) => `role ${JSON.stringify(iss.input)} must be control, data or all` });

export interface BakeoffWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  /** The control queue (workflows); the data queue is derived from it. */
  taskQueue: string;
  /** Default 'all': both roles in this process. */
  role?: WorkerRole;
  activities: WorkerActivities;
  /** Data activities at once: ingest and evaluate are CPU-bound, 2–3 fit a 2-core machine (seed 001). */
  maxConcurrentActivityTaskExecutions?: number;
  /** Extra options for both workers (e.g. a pre-built workflow bundle; activity options go to the data worker only if set there). */
  extra?: Partial<WorkerOptions>;
}

/**
 * A workflow task the server has put on a crashed worker's sticky queue waits this long before it
 * moves to the shared queue, where a replacement picks it up (SDK default 10 s). Short, so a
 * restarted worker resumes a bakeoff within seconds (bench/resume-latency.ts); the cost when a live
 * worker is merely slow is one replay of a small history.
 */
export const STICKY_QUEUE_TIMEOUT_MS = 3_000;

/** Control activities are short database steps: enough slots that a rollback never waits for one. */
export const CONTROL_ACTIVITY_SLOTS = 20;

export function workflowsPath(): string {
  return require.resolve('./workflows');
}

/** The activities a role's worker registers (control: everything but the data-plane steps). */
export function activitiesForRole(all: WorkerActivities, role: 'control' | 'data'): Partial<WorkerActivities> {
  const data = new Set<string>(DATA_ACTIVITY_NAMES);
  return Object.fromEntries(Object.entries(all).filter(([name]) => data.has(name) === (role === 'data'))) as Partial<WorkerActivities>;
}

/**
 * One or two Temporal workers run as one: run() until both stop, shutdown() both, runUntil() like
 * Worker.runUntil. Tests and the demo use it exactly where they used a single Worker.
 */
export class BakeoffWorkers {
  constructor(
    readonly workers: readonly { role: 'control' | 'data'; taskQueue: string; worker: Worker }[],
  ) {}

  get taskQueues(): string[] {
    return this.workers.map((w) => w.taskQueue);
  }

  getState(): State {
    return this.workers[0]!.worker.getState();
  }

  async run(): Promise<void> {
    const runs = this.workers.map((w) => w.worker.run());
    // One worker failing stops the other, so a half-worker never keeps polling alone.
    const first = await Promise.race(runs.map((r) => r.then(() => null, (err: unknown) => ({ err }))));
    if (first) this.shutdown();
    const results = await Promise.allSettled(runs);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  shutdown(): void {
    for (const w of this.workers) {
      if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
    }
  }

  async runUntil<R>(fnOrPromise: Promise<R> | (() => Promise<R>)): Promise<R> {
    if (this.workers.length === 1) return this.workers[0]!.worker.runUntil(fnOrPromise);
    // Nest: the outer worker runs until the inner one has run the work; both stop afterwards.
    const [outer, ...rest] = this.workers;
    const inner = new BakeoffWorkers(rest);
    return outer!.worker.runUntil(() => inner.runUntil(fnOrPromise));
  }
}

export async function createBakeoffWorker(opts: BakeoffWorkerOptions): Promise<BakeoffWorkers> {
  const role = opts.role ?? 'all';
  const made: { role: 'control' | 'data'; taskQueue: string; worker: Worker }[] = [];
  const { workflowBundle, ...extra } = opts.extra ?? {};
  if (role === 'control' || role === 'all') {
    const worker = await Worker.create({
      connection: opts.connection,
      namespace: opts.namespace ?? 'default',
      taskQueue: opts.taskQueue,
      ...(workflowBundle ? { workflowBundle } : { workflowsPath: workflowsPath() }),
      activities: activitiesForRole(opts.activities, 'control'),
      maxConcurrentActivityTaskExecutions: CONTROL_ACTIVITY_SLOTS,
      stickyQueueScheduleToStartTimeout: STICKY_QUEUE_TIMEOUT_MS,
      ...extra,
    });
    made.push({ role: 'control', taskQueue: opts.taskQueue, worker });
  }
  if (role === 'data' || role === 'all') {
    const taskQueue = dataTaskQueueFor(opts.taskQueue);
    const { stickyQueueScheduleToStartTimeout: _sticky, maxCachedWorkflows: _cached, ...dataExtra } = extra;
    const worker = await Worker.create({
      connection: opts.connection,
      namespace: opts.namespace ?? 'default',
      taskQueue,
      // No workflows here: a data worker only polls the data queue's activity tasks.
      activities: activitiesForRole(opts.activities, 'data'),
      maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 3,
      ...dataExtra,
    });
    made.push({ role: 'data', taskQueue, worker });
  }
  return new BakeoffWorkers(made);
}

/** How a worker command says what it polls: the queue first (scripts and tests read it), then the role. */
export function describeWorkers(w: BakeoffWorkers, where: string): string {
  const [first, ...more] = w.workers;
  const role = more.length > 0 ? 'all' : (first?.role ?? 'none');
  return `polling task queue '${first?.taskQueue}' on ${where}; role ${role}${more.map((x) => `, ${x.role} steps on '${x.taskQueue}'`).join('')}`;
}

async function main(): Promise<void> {
  const settings = loadTemporalSettings();
  if (!settings.address) {
    throw new ConfigError('TEMPORAL_ADDRESS is not set (e.g. 127.0.0.1:7233); `npm run demo` starts a local server for you');
  }
  const { buildActivities, runtimeOptionsFromEnv } = await import('./activities/runtime');
  // The embedded store is one process's database: refuse, in the CLI's and the service's words, while another holds it.
  const store = runtimeOptionsFromEnv();
  const lock = !store.databaseUrl && store.pgliteDir ? lockPglite(store.pgliteDir, 'worker', 'node dist/worker.js') : null;
  const { workflowClosedVia } = await import('./activities/lane-lease');
  // A client connection as well: claimLane asks the server whether a lease's owner is still running,
  // so a lease left by a terminated bakeoff does not block its lane forever.
  const clientConnection = await Connection.connect({ address: settings.address, ...settings.connection });
  const client = new Client({ connection: clientConnection, namespace: settings.namespace });
  const { activities, close } = await buildActivities({ workflowClosed: workflowClosedVia(client), embedInThread: true });
  const connection = await NativeConnection.connect({ address: settings.address, ...settings.connection });
  const role = WorkerRoleSchema.safeParse(process.env.BAKEOFF_WORKER_ROLE ?? 'all');
  if (!role.success) throw new ConfigError(`BAKEOFF_WORKER_ROLE: ${role.error.issues[0]?.message}`);
  const worker = await createBakeoffWorker({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    role: role.data,
    activities,
  });
  console.log(`[worker] ${describeWorkers(worker, `${settings.address} (namespace ${settings.namespace})`)}`);
  try {
    await worker.run();
  } finally {
    await connection.close();
    await clientConnection.close();
    await close();
    lock?.release();
    console.log('[worker] stopped');
  }
}

if (require.main === module) {
  main().catch((err) => {
    // A user mistake (bad setting) gets one readable line; anything else keeps its stack.
    console.error(err instanceof ConfigError || err instanceof CliError ? `bakeoff worker: ${err.message}` : err);
    process.exit(1);
  });
}
