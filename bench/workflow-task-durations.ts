// The longest workflow tasks of the bakeoffs a Temporal server holds, read from their histories
// (WorkflowTaskStarted → its Completed / Failed / TimedOut): a worker whose event loop is blocked by
// data-plane work finishes its workflow tasks late, which this shows after the fact. Issue 17: "no
// workflow task over 1 s in the demo's worker log". Exits 1 when any task took longer than --max-ms.
//
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/workflow-task-durations.js \
//     [--address 127.0.0.1:7233] [--query "WorkflowType='bakeoff'"] [--max-ms 1000] [--top 5]
import { Connection, WorkflowClient } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const ms = (t: temporal.api.history.v1.IHistoryEvent['eventTime']): number =>
  Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

export interface TaskDuration {
  workflowId: string;
  startedEventId: number;
  at: string;
  ms: number;
  outcome: 'completed' | 'failed' | 'timed-out';
}

/** Every workflow task's start-to-finish time in one history. */
export function workflowTaskDurations(workflowId: string, events: readonly temporal.api.history.v1.IHistoryEvent[]): TaskDuration[] {
  const out: TaskDuration[] = [];
  const started = new Map<number, temporal.api.history.v1.IHistoryEvent>();
  for (const e of events) {
    const id = Number(e.eventId);
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) started.set(id, e);
    const done =
      e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED ? { s: e.workflowTaskCompletedEventAttributes?.startedEventId, outcome: 'completed' as const }
      : e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED ? { s: e.workflowTaskFailedEventAttributes?.startedEventId, outcome: 'failed' as const }
      : e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT ? { s: e.workflowTaskTimedOutEventAttributes?.startedEventId, outcome: 'timed-out' as const }
      : null;
    if (!done) continue;
    const s = started.get(Number(done.s));
    if (!s) continue;
    out.push({ workflowId, startedEventId: Number(done.s), at: new Date(ms(s.eventTime)).toISOString(), ms: ms(e.eventTime) - ms(s.eventTime), outcome: done.outcome });
  }
  return out;
}

async function main(): Promise<void> {
  const address = arg('address', process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233');
  const query = arg('query', "WorkflowType='bakeoff'");
  const maxMs = Number(arg('max-ms', '1000'));
  const top = Number(arg('top', '5'));
  const connection = await Connection.connect({ address });
  const client = new WorkflowClient({ connection, namespace: arg('namespace', 'default') });
  const all: TaskDuration[] = [];
  let workflows = 0;
  for await (const w of client.list({ query })) {
    workflows++;
    const history = await client.getHandle(w.workflowId, w.runId).fetchHistory();
    all.push(...workflowTaskDurations(w.workflowId, history.events ?? []));
  }
  await connection.close();
  all.sort((a, b) => b.ms - a.ms);
  const over = all.filter((t) => t.ms > maxMs);
  console.log(`${all.length} workflow tasks in ${workflows} workflow runs at ${address} (${query}); longest ${all[0]?.ms ?? 0} ms; ${over.length} over ${maxMs} ms`);
  for (const t of all.slice(0, top)) console.log(`  ${t.ms} ms  ${t.outcome}  ${t.workflowId} event ${t.startedEventId} at ${t.at}`);
  if (over.length > 0) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`workflow-task-durations: ${(err as Error).message}`);
    process.exit(2);
  });
}
