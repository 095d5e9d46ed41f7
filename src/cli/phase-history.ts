// Every phase change of a bakeoff, read from the server's history (the workflow upserts the
// BakeoffPhase search attribute at each change) instead of the status query: the history answers
// without a worker, even while a CPU-heavy activity keeps the worker from answering queries, and
// it holds every change, also those that came and went between two polls. Follows continue-as-new.
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_PHASE } from '../workflows/messages';

export interface PhaseChange {
  /** The server's time of the workflow task that recorded it (epoch ms). */
  at: number;
  phase: string;
  runId: string;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

function eventMs(e: HistoryEvent): number {
  return e.eventTime ? Number(e.eventTime.seconds ?? 0) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6) : 0;
}

/** The BakeoffPhase value an upsert event sets, if it sets one. */
export function phaseOfEvent(e: HistoryEvent): string | null {
  const payload = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[SEARCH_ATTRIBUTE_PHASE];
  if (!payload?.data) return null;
  try {
    const v = JSON.parse(Buffer.from(payload.data).toString('utf8')) as unknown;
    const phase = Array.isArray(v) ? v[0] : v;
    return typeof phase === 'string' ? phase : null;
  } catch {
    return null;
  }
}

export class PhaseFollower {
  private runId: string | null = null;
  private seen = 0; // events of runId already read
  private last: PhaseChange | null = null;

  constructor(
    private readonly client: Client,
    private readonly workflowId: string,
  ) {}

  /** The latest phase change read so far. */
  get latest(): PhaseChange | null {
    return this.last;
  }

  /** Phase changes recorded since the last call, oldest first; `latestRunId` is the run the server describes now. */
  async poll(latestRunId: string): Promise<PhaseChange[]> {
    const changes: PhaseChange[] = [];
    // A run that continued as new is closed: read its tail first, then the next run from its start.
    if (this.runId !== null && this.runId !== latestRunId) changes.push(...(await this.read(this.runId)));
    if (this.runId !== latestRunId) {
      this.runId = latestRunId;
      this.seen = 0;
    }
    changes.push(...(await this.read(latestRunId)));
    return changes;
  }

  private async read(runId: string): Promise<PhaseChange[]> {
    const history = await this.client.workflow.getHandle(this.workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    const out: PhaseChange[] = [];
    for (const e of events.slice(runId === this.runId ? this.seen : 0)) {
      const phase = phaseOfEvent(e);
      // The upsert repeats the phase when only ConfigHash changes: a change is a new value.
      if (phase && phase !== this.last?.phase) {
        this.last = { at: eventMs(e), phase, runId };
        out.push(this.last);
      }
    }
    if (runId === this.runId) this.seen = events.length;
    return out;
  }
}
