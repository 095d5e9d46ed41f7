// scheduledEvaluation: what the nightly smoke and weekly full Temporal Schedules start
// (src/schedules/schedules.ts). It evaluates whatever the lane's pointer serves right now and
// appends the result to evaluation_history, from which the 7-day trend is computed. Deterministic
// code only: the pointer read, the evaluation and the append are activities.
import type { RetryPolicy } from '@temporalio/common';
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { z } from 'zod';
import type { EvaluationKind, RecordEvaluationResult } from '../store/evaluation-history';
import type { EvaluationHistoryActivities } from '../activities/record-evaluation';
import type { BakeoffActivities, EvalReport } from '../activities/types';
import { dataSteps, summarizedActivities } from './activity-proxies';
import { NON_RETRYABLE_ERROR_TYPES } from './errors';
import { laneSchema } from './messages';
import { formatZodIssues } from '../platform/zod-issues';

export const ScheduledEvaluationInputSchema = z.strictObject({
  kind: z.enum(['smoke', 'full', 'manual']),
  lane: laneSchema,
  /** Labelled case set the data plane understands, e.g. 'faq:dev'. */
  caseSetRef: z.string().trim().min(1).max(500),
  k: z.int().min(1).max(100).default(10),
  /** Smoke: only the first N cases. Absent: the whole case set. */
  maxCases: z.int().min(1).max(1_000_000).optional(),
  /** The schedule that started this run (null for a manual run). */
  scheduleId: z.string().min(1).max(200).nullable().default(null),
});
export type ScheduledEvaluationInputRaw = z.input<typeof ScheduledEvaluationInputSchema>;
export type ScheduledEvaluationInput = z.output<typeof ScheduledEvaluationInputSchema>;

export interface ScheduledEvaluationResult extends RecordEvaluationResult {
  kind: EvaluationKind;
  lane: string;
  table: string;
  pointerVersion: number;
  report: EvalReport;
}

// User mistakes and missing parts (src/workflows/errors.ts) are not retried; activities also mark them
// nonRetryable themselves.
const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

const quick = summarizedActivities<Pick<BakeoffActivities, 'readPointer'> & EvaluationHistoryActivities>({
  startToCloseTimeout: '1m',
  retry: { ...retry, maximumAttempts: 10 },
});
/** The full evaluation takes minutes; it heartbeats per case, so a dead worker is noticed in 5 min. */
const heavy = dataSteps({ startToCloseTimeout: '6h', heartbeatTimeout: '5m', retry: { ...retry, maximumAttempts: 3 } }, ['evaluate']);

export async function scheduledEvaluation(raw: ScheduledEvaluationInputRaw): Promise<ScheduledEvaluationResult> {
  const parsed = ScheduledEvaluationInputSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = formatZodIssues(parsed.error, { separator: '; ' });
    throw ApplicationFailure.create({ type: 'BakeoffInputError', nonRetryable: true, message: `invalid scheduledEvaluation input: ${issues}` });
  }
  const input = parsed.data;
  const info = workflowInfo();
  const startedAt = Date.now();
  const pointer = await quick.readPointer({ lane: input.lane });
  const report = await heavy.evaluate({
    side: 'baseline',
    table: pointer.liveTable,
    index: pointer.liveIndex,
    caseSetRef: input.caseSetRef,
    k: input.k,
    maxCases: input.maxCases,
    runLabel: `${info.workflowId}/${input.kind}`,
  });
  const recorded = await quick.recordEvaluation({
    idempotencyKey: `${info.workflowId}/${info.firstExecutionRunId}/record-evaluation`,
    scheduleId: input.scheduleId,
    workflowId: info.workflowId,
    kind: input.kind,
    lane: input.lane,
    pointerVersion: pointer.version,
    configHash: pointer.liveConfigHash,
    caseSetRef: input.caseSetRef + (input.maxCases !== undefined ? `[:${input.maxCases}]` : ''),
    startedAt,
    report,
    index: pointer.liveIndex,
  });
  return { ...recorded, kind: input.kind, lane: input.lane, table: pointer.liveTable, pointerVersion: pointer.version, report };
}
