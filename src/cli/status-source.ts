// Where `bakeoff status` gets its answer. A running bakeoff answers the `status` query (through a
// worker); a finished one carries its final status in its result (no worker needed); and when no
// worker answers — on-call's 3 a.m. case — the server's own records (execution status, the
// BakeoffPhase search attribute, pending activities) still say a good deal, so we show those.
import { WorkflowFailedError, type Client, type Connection, type WorkflowExecutionDescription } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_CONFIG_HASH, SEARCH_ATTRIBUTE_PHASE, statusQuery } from '../workflows/messages';
import type { BakeoffResult, BakeoffStatus } from '../workflows/types';
import { CliError, innermostMessage } from './errors';

const PHASE_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTE_PHASE, SearchAttributeType.KEYWORD);
const HASH_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTE_CONFIG_HASH, SearchAttributeType.KEYWORD);

export interface ExecutionSummary {
  workflowId: string;
  runId: string;
  type: string;
  taskQueue: string;
  /** RUNNING, COMPLETED, FAILED, TERMINATED, ... */
  executionStatus: string;
  startTime: string;
  closeTime: string | null;
  historyLength: number;
  /** From the search attributes: what the server knows without asking the workflow. */
  phase: string | null;
  configHash: string | null;
  pendingActivities: Array<{ type: string; attempt: number; lastFailure: string | null }>;
}

export interface StatusAnswer {
  execution: ExecutionSummary;
  /** null when nobody could answer the query (no worker) and the run has no result. */
  status: BakeoffStatus | null;
  source: 'query' | 'result' | 'server-records';
  /** Why the status is missing or partial, for the operator. */
  note: string | null;
}

export function summarize(d: WorkflowExecutionDescription): ExecutionSummary {
  const pending = d.raw.pendingActivities ?? [];
  return {
    workflowId: d.workflowId,
    runId: d.runId,
    type: d.type,
    taskQueue: d.taskQueue,
    executionStatus: d.status.name,
    startTime: d.startTime.toISOString(),
    closeTime: d.closeTime ? d.closeTime.toISOString() : null,
    historyLength: d.historyLength,
    phase: d.typedSearchAttributes.get(PHASE_KEY) ?? null,
    configHash: d.typedSearchAttributes.get(HASH_KEY) ?? null,
    pendingActivities: pending.map((a) => ({
      type: a.activityType?.name ?? '?',
      attempt: a.attempt ?? 1,
      lastFailure: a.lastFailure?.message ?? null,
    })),
  };
}

/** Describes the workflow, refusing ids that are not bakeoffs. Throws WorkflowNotFoundError for unknown ids. */
export async function describeBakeoff(client: Client, workflowId: string): Promise<WorkflowExecutionDescription> {
  const d = await client.workflow.getHandle(workflowId).describe();
  if (d.type !== 'bakeoff') throw new CliError(`workflow ${workflowId} is a '${d.type}' workflow, not a bakeoff`);
  return d;
}

export async function fetchStatus(client: Client, connection: Connection, workflowId: string, queryTimeoutMs = 10_000): Promise<StatusAnswer> {
  const d = await describeBakeoff(client, workflowId);
  const execution = summarize(d);
  const handle = client.workflow.getHandle(workflowId);
  if (execution.executionStatus === 'COMPLETED') {
    const result = (await handle.result()) as BakeoffResult;
    return { execution, status: result.status, source: 'result', note: null };
  }
  try {
    const status = await connection.withDeadline(Date.now() + queryTimeoutMs, () => handle.query(statusQuery));
    return { execution, status, source: 'query', note: null };
  } catch (err) {
    let note: string;
    if (execution.executionStatus === 'RUNNING') {
      note = `no worker answered the status query within ${Math.round(queryTimeoutMs / 1000)} s (is one polling task queue '${execution.taskQueue}'? start one with \`bakeoff worker\`); showing the server's records`;
    } else if (execution.executionStatus === 'FAILED') {
      note = `the workflow failed: ${await failureOf(handle.result())}`;
    } else {
      note = `the workflow is ${execution.executionStatus.toLowerCase()}${innermostMessage(err) ? ` (${innermostMessage(err)})` : ''}`;
    }
    return { execution, status: null, source: 'server-records', note };
  }
}

async function failureOf(result: Promise<unknown>): Promise<string> {
  try {
    await result;
    return 'unknown';
  } catch (err) {
    return err instanceof WorkflowFailedError ? innermostMessage(err) : innermostMessage(err);
  }
}
