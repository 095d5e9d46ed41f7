// `bakeoff status ID --until PHASE[,PHASE]`: one line per phase change, every one of them, read from
// the history (src/cli/phase-history.ts) so that neither a worker busy with a heavy step nor a
// change that came and went between two polls hides a phase; a line saying what it waits for when
// nothing has changed for a while; the full status (status query, or the server's records) once a
// named phase is reached.
import type { Client, Connection } from '@temporalio/client';
import { isTerminal, type Phase } from '../workflows/types';
import { sleep, type CliIo } from './context';
import { CliError } from './errors';
import { EXIT, type ExitCode } from './exit-codes';
import { formatDuration } from '../workflows/duration';
import { PhaseFollower } from './phase-history';
import { describeBakeoff, fetchStatus, summarize, type ExecutionSummary, type StatusAnswer } from './status-source';

export interface UntilOptions {
  client: Client;
  connection: Connection;
  workflowId: string;
  until: string[];
  pollMs: number;
  deadline: number;
  timeoutText: string;
  queryTimeoutMs: number;
  io: CliIo;
  signal: AbortSignal;
  show: (a: StatusAnswer) => void;
  /** A "still waiting" line after this long without a change (and at once when there is no phase yet). */
  quietMs?: number;
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/** What the bakeoff is doing while it stays in one phase, from the server's records. */
function doing(ex: ExecutionSummary): string {
  const p = ex.pendingActivities[0];
  if (p) return `running ${p.type}${p.attempt > 1 ? ` (attempt ${p.attempt}${p.lastFailure ? `, last failure: ${p.lastFailure}` : ''})` : ''}`;
  return 'no activity pending';
}

export async function waitUntilPhase(o: UntilOptions): Promise<ExitCode> {
  const { io, workflowId, until } = o;
  const quietMs = o.quietMs ?? 60_000;
  const follower = new PhaseFollower(o.client, workflowId);
  let lastLine = 0;
  for (;;) {
    const ex = summarize(await describeBakeoff(o.client, workflowId));
    for (const c of await follower.poll(ex.runId)) {
      let extra = '';
      if (c.phase === 'awaiting-operator' && follower.latest === c) {
        const a = await fetchStatus(o.client, o.connection, workflowId, o.queryTimeoutMs);
        if (a.status?.awaiting) extra = ` — ${a.status.awaiting.reason} (bakeoff approve ${workflowId} | bakeoff abort ${workflowId} --reason "…")`;
      }
      io.err(`[${clock(c.at)}] ${workflowId}: ${c.phase}${extra}`);
      lastLine = Date.now();
    }
    const phase = follower.latest?.phase ?? ex.phase;
    const closed = ex.executionStatus !== 'RUNNING';
    if ((phase && until.includes(phase)) || closed || (phase && isTerminal(phase as Phase))) {
      const answer = await fetchStatus(o.client, o.connection, workflowId, o.queryTimeoutMs);
      o.show(answer);
      const final = answer.status?.phase ?? phase;
      if (final && until.includes(final)) return EXIT.OK;
      throw new CliError(`bakeoff ${workflowId} ended in phase ${final ?? ex.executionStatus.toLowerCase()}, not ${until.join(' or ')}`);
    }
    if (Date.now() > o.deadline) throw new CliError(`bakeoff ${workflowId} did not reach phase ${until.join(' or ')} within ${o.timeoutText} s (it is ${phase ?? 'unknown'})`);
    if (Date.now() - lastLine >= quietMs) {
      const latest = follower.latest;
      io.err(
        latest
          ? `[${clock(Date.now())}] ${workflowId}: waiting for ${until.join(' or ')} — ${latest.phase} since ${clock(latest.at)} (${formatDuration(Math.floor((Date.now() - latest.at) / 1000) * 1000)}), ${doing(ex)}`
          : `[${clock(Date.now())}] ${workflowId}: waiting for ${until.join(' or ')} — no phase recorded yet: no worker has run the bakeoff on task queue '${ex.taskQueue}' (check: bakeoff workers)`,
      );
      lastLine = Date.now();
    }
    await sleep(o.pollMs, o.signal);
    if (o.signal.aborted) throw new CliError(`interrupted before bakeoff ${workflowId} reached phase ${until.join(' or ')}`);
  }
}
