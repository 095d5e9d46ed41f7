// Activity stubs for the workflows. Every call carries a one-line summary of what it does for this
// bakeoff (./summaries; the Web UI shows it on the workflow page): a stub makes a proxy with the
// call's summary for each call, which is cheap and changes nothing the replay compares.
// The heavy data-plane steps are routed to the data workers' task queue so a rollback (pointer,
// caches: control queue) never waits behind an hour-long ingest or evaluation.
// Scheduling on another queue changes the ScheduleActivityTask command, so the choice is made per
// call behind patched('data-task-queue'): a history recorded before the patch replays its heavy steps
// on the workflow's own queue; every step scheduled after it goes to `<queue>-data`.
import type { ActivityFunction } from '@temporalio/common';
import { patched, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { BakeoffActivities } from '../activities/types';
import { activitySummary } from './summaries';
import { DATA_TASK_QUEUE_PATCH, dataTaskQueueFor, type DataActivityName } from './task-queues';

export type DataSteps<K extends DataActivityName = DataActivityName> = Pick<BakeoffActivities, K>;

/** One call of activity `name` with `options` plus the summary of this call. */
function callSummarized(options: ActivityOptions, name: string, input: unknown): Promise<unknown> {
  const stub = proxyActivities<Record<string, ActivityFunction>>({ ...options, summary: activitySummary(name, input) });
  return stub[name](input);
}

/** Like proxyActivities, but each call is summarized for the UI (./summaries). */
export function summarizedActivities<A extends object>(options: ActivityOptions): A {
  return new Proxy({} as A, {
    get(_, name) {
      if (typeof name !== 'string') throw new TypeError(`only strings are activity names, got ${String(name)}`);
      return (input: unknown) => callSummarized(options, name, input);
    },
  });
}

/** Stubs for the data activities `names` with `options`; each call picks its queue as above. */
export function dataSteps<K extends DataActivityName>(options: ActivityOptions, names: readonly K[]): DataSteps<K> {
  const steps: Partial<Record<DataActivityName, unknown>> = {};
  for (const name of names) {
    steps[name] = (input: unknown) => {
      const routed = patched(DATA_TASK_QUEUE_PATCH) ? { ...options, taskQueue: dataTaskQueueFor(workflowInfo().taskQueue) } : options;
      return callSummarized(routed, name, input);
    };
  }
  return steps as DataSteps<K>;
}
