// The bakeoff worker: registers every workflow type and the activities built by createActivities.
// Connection settings come from the environment (validated, see src/platform/temporal-config.ts);
// SIGINT/SIGTERM drain in-flight tasks before exit (Temporal's Runtime installs those handlers).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { WorkerActivities } from './activities';
import { ConfigError, loadTemporalSettings } from './platform/temporal-config';

export interface BakeoffWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: WorkerActivities;
  /** Heavy steps (ingest, evaluate) are CPU-bound: 2–3 at once fits a 2-core machine (seed 001). */
  maxConcurrentActivityTaskExecutions?: number;
  /** Extra options for tests (e.g. a pre-built workflow bundle). */
  extra?: Partial<WorkerOptions>;
}

/**
 * A workflow task the server has put on a crashed worker's sticky queue waits this long before it
 * moves to the shared queue, where a replacement picks it up (SDK default 10 s). Short, so a
 * restarted worker resumes a bakeoff within seconds (bench/resume-latency.ts); the cost when a live
 * worker is merely slow is one replay of a small history.
 */
export const STICKY_QUEUE_TIMEOUT_MS = 3_000;

export function workflowsPath(): string {
  return require.resolve('./workflows');
}

export async function createBakeoffWorker(opts: BakeoffWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowsPath: opts.extra?.workflowBundle ? undefined : workflowsPath(),
    activities: opts.activities,
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 3,
    stickyQueueScheduleToStartTimeout: STICKY_QUEUE_TIMEOUT_MS,
    ...opts.extra,
  });
}

async function main(): Promise<void> {
  const settings = loadTemporalSettings();
  if (!settings.address) {
    throw new ConfigError('TEMPORAL_ADDRESS is not set (e.g. 127.0.0.1:7233); `npm run demo` starts a local server for you');
  }
  const { buildActivities } = await import('./activities/runtime');
  const { workflowClosedVia } = await import('./activities/lane-lease');
  // A client connection as well: claimLane asks the server whether a lease's owner is still running,
  // so a lease left by a terminated bakeoff does not block its lane forever.
  const clientConnection = await Connection.connect({ address: settings.address, ...settings.connection });
  const client = new Client({ connection: clientConnection, namespace: settings.namespace });
  const { activities, close } = await buildActivities({ workflowClosed: workflowClosedVia(client) });
  const connection = await NativeConnection.connect({ address: settings.address, ...settings.connection });
  const worker = await createBakeoffWorker({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    activities,
  });
  console.log(`[worker] polling task queue '${settings.taskQueue}' on ${settings.address} (namespace ${settings.namespace})`);
  try {
    await worker.run();
  } finally {
    await connection.close();
    await clientConnection.close();
    await close();
    console.log('[worker] stopped');
  }
}

if (require.main === module) {
  main().catch((err) => {
    // A user mistake (bad setting) gets one readable line; anything else keeps its stack.
    console.error(err instanceof ConfigError ? `bakeoff worker: ${err.message}` : err);
    process.exit(1);
  });
}
