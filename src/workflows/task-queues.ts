// Task queue names of the two worker roles. Pure (no Temporal imports): the workflow bundle and the
// worker process both derive the data queue from the one configured queue, so existing settings
// (BAKEOFF_TASK_QUEUE) keep working and a deployment never configures two names that disagree.

/** The activities that do heavy, CPU-bound data-plane work; they run on the data queue. */
export const DATA_ACTIVITY_NAMES = ['lockCorpus', 'shadowIngest', 'ingestShard', 'buildIndexes', 'evaluate', 'evaluatePair', 'runProbes'] as const;
export type DataActivityName = (typeof DATA_ACTIVITY_NAMES)[number];

/** The queue data workers poll: the control queue (where workflows run) plus `-data`. */
export function dataTaskQueueFor(controlTaskQueue: string): string {
  return `${controlTaskQueue}-data`;
}

/** patched() id: heavy activities scheduled after it go to the data queue (older histories replay unchanged). */
export const DATA_TASK_QUEUE_PATCH = 'data-task-queue';
