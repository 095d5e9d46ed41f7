// Where `bakeoff status` gets its answer. A running bakeoff answers the `status` query (through a
// worker); a finished one carries its final status in its result (no worker needed); and when no
// worker answers — on-call's 3 a.m. case — the server's own records (execution status, the
// BakeoffPhase search attribute, pending activities) still say a good deal, so we show those.
import { WorkflowFailedError, type Client, type Connection, type WorkflowExecutionDescription } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { rollbackSignal, SEARCH_ATTRIBUTE_CONFIG_HASH, SEARCH_ATTRIBUTE_PHASE, statusQuery } from '../workflows/messages';
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
  /** The bakeoff's first run (continue-as-new starts new runs of the same bakeoff); absent: unknown. */
  firstRunId?: string | null;
  /** When the bakeoff (its first run) started; startTime is this run's. Absent or null: not known. */
  bakeoffStartTime?: string | null;
}

export interface StatusAnswer {
  execution: ExecutionSummary;
  /** null when nobody could answer the query (no worker) and the run has no result. */
  status: BakeoffStatus | null;
  source: 'query' | 'result' | 'server-records';
  /** Why the status is missing or partial, for the operator. */
  note: string | null;
  /**
   * When the server recorded the operator's rollback signal (epoch ms; history event time). The
   * status's rollback.requestedAt is when the workflow applied it, which is later when no worker ran.
   */
  rollbackSignaledAt?: number | null;
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
    firstRunId: d.raw.workflowExecutionInfo?.firstRunId || null,
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

/**
 * When the bakeoff started: its first run's start. After continue-as-new the execution the server
 * describes is the latest run; null when the first run is no longer retained.
 */
export async function bakeoffStartTime(client: Client, workflowId: string, run: { runId: string; startTime: string; firstRunId?: string | null }): Promise<string | null> {
  if (!run.firstRunId || run.firstRunId === run.runId) return run.startTime;
  try {
    return (await client.workflow.getHandle(workflowId, run.firstRunId).describe()).startTime.toISOString();
  } catch {
    return null; // past the namespace's retention
  }
}

/** The server's time of the first `rollback` signal in this run's history (null: none, e.g. an automatic rollback). */
export async function rollbackSignalTime(client: Client, workflowId: string, runId: string): Promise<number | null> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  for (const e of history.events ?? []) {
    if (e.workflowExecutionSignaledEventAttributes?.signalName === rollbackSignal.name && e.eventTime) {
      return Number(e.eventTime.seconds ?? 0) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6);
    }
  }
  return null;
}

export async function fetchStatus(client: Client, connection: Connection, workflowId: string, queryTimeoutMs = 10_000): Promise<StatusAnswer> {
  const d = await describeBakeoff(client, workflowId);
  const execution = summarize(d);
  execution.bakeoffStartTime = await bakeoffStartTime(client, workflowId, execution);
  const handle = client.workflow.getHandle(workflowId);
  const withSignalTime = async (a: StatusAnswer): Promise<StatusAnswer> =>
    a.status?.rollback && !a.status.rollback.automatic ? { ...a, rollbackSignaledAt: await rollbackSignalTime(client, workflowId, execution.runId).catch(() => null) } : a;
  if (execution.executionStatus === 'COMPLETED') {
    const result = (await handle.result()) as BakeoffResult;
    return withSignalTime({ execution, status: result.status, source: 'result', note: null });
  }
  try {
    const status = await connection.withDeadline(Date.now() + queryTimeoutMs, () => handle.query(statusQuery));
    return await withSignalTime({ execution, status, source: 'query', note: null });
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
