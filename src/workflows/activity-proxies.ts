// Activity stubs for the heavy data-plane steps, routed to the data workers' task queue so a rollback
// (pointer, caches: control queue) never waits behind an hour-long ingest or evaluation.
// Scheduling on another queue changes the ScheduleActivityTask command, so the choice is made per
// call behind patched('data-task-queue'): a history recorded before the patch replays its heavy steps
// on the workflow's own queue; every step scheduled after it goes to `<queue>-data`.
import { patched, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { BakeoffActivities } from '../activities/types';
import { DATA_TASK_QUEUE_PATCH, dataTaskQueueFor, type DataActivityName } from './task-queues';

export type DataSteps<K extends DataActivityName = DataActivityName> = Pick<BakeoffActivities, K>;

/** Stubs for the data activities `names` with `options`; each call picks its queue as above. */
export function dataSteps<K extends DataActivityName>(options: ActivityOptions, names: readonly K[]): DataSteps<K> {
  const sameQueue = proxyActivities<DataSteps>(options);
  let dataQueue: DataSteps | undefined;
  const route = (): DataSteps => {
    if (!patched(DATA_TASK_QUEUE_PATCH)) return sameQueue;
    dataQueue ??= proxyActivities<DataSteps>({ ...options, taskQueue: dataTaskQueueFor(workflowInfo().taskQueue) });
    return dataQueue;
  };
  const steps: Partial<Record<DataActivityName, unknown>> = {};
  for (const name of names) {
    steps[name] = (input: never) => (route()[name] as (i: never) => unknown)(input);
  }
  return steps as DataSteps<K>;
}
