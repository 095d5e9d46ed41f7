// `bakeoff status` (one bakeoff, readable or JSON, optionally redrawn until it ends) and
// `bakeoff list` (bakeoffs found through the BakeoffPhase / ConfigHash search attributes).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Command } from 'commander';
import { SEARCH_ATTRIBUTE_CONFIG_HASH, SEARCH_ATTRIBUTE_PHASE } from '../../workflows/messages';
import { isTerminal, TERMINAL_PHASES, type Phase } from '../../workflows/types';
import { exitWith, onServer, sleep, targetOf, type CliContext } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { formatTime, renderStatus, renderTable } from '../render';
import { bakeoffStartTime, fetchStatus, type StatusAnswer } from '../status-source';
import { waitUntilPhase } from '../status-until';
import { workflowUrl } from '../target';

export const PHASES: readonly Phase[] = [
  'locking', 'backing-up', 'ingesting', 'evaluating', 'probing', 'gating', 'shadow', 'canary', 'awaiting-operator',
  'promoting', 'rolling-back', ...TERMINAL_PHASES,
];

const PHASE_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTE_PHASE, SearchAttributeType.KEYWORD);
const HASH_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTE_CONFIG_HASH, SearchAttributeType.KEYWORD);

function positiveNumber(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`--${name} ${JSON.stringify(v)}: must be a positive number`);
  return n;
}

/** Finished: the execution closed, or the workflow reached a terminal phase. */
function finished(a: StatusAnswer): boolean {
  return a.execution.executionStatus !== 'RUNNING' || (a.status !== null && isTerminal(a.status.phase));
}

/** The visibility query for `list`; every value is validated, so nothing is pasted in unchecked. */
export function listQuery(o: { phase?: string; configHash?: string; running?: boolean }): string {
  const parts = [`WorkflowType = 'bakeoff'`];
  if (o.phase !== undefined) {
    if (!PHASES.includes(o.phase as Phase)) throw new CliError(`--phase ${JSON.stringify(o.phase)}: must be one of ${PHASES.join(', ')}`);
    parts.push(`${SEARCH_ATTRIBUTE_PHASE} = '${o.phase}'`);
  }
  if (o.configHash !== undefined) {
    if (!/^[0-9a-f]{4,64}$/.test(o.configHash)) throw new CliError(`--config-hash ${JSON.stringify(o.configHash)}: must be 4-64 lowercase hex characters`);
    parts.push(o.configHash.length === 64 ? `${SEARCH_ATTRIBUTE_CONFIG_HASH} = '${o.configHash}'` : `${SEARCH_ATTRIBUTE_CONFIG_HASH} STARTS_WITH '${o.configHash}'`);
  }
  // A continue-as-new chain is one bakeoff: show its live run, not every finished hop.
  parts.push(o.running ? `ExecutionStatus = 'Running'` : `ExecutionStatus != 'ContinuedAsNew'`);
  return parts.join(' AND ');
}

export function registerInspectCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;

  program
    .command('status <workflowId>')
    .description('phase, stage, percent, soak time left and every gate (value / threshold / verdict) of a bakeoff')
    .option('--json', 'print the status as JSON')
    .option('-w, --watch [seconds]', 're-render every N seconds until the bakeoff ends (default 5)')
    .option('--until <phases>', 'wait until the bakeoff reaches one of these phases (comma-separated; exit 2 if it ends in another), printing each phase change; then show the status')
    .option('--events <n>', 'recent events to show', '8')
    .option('--query-timeout <seconds>', 'how long to wait for a worker to answer', '10')
    .option('--timeout <seconds>', 'with --until: give up after this long', '3600')
    .action(exitWith(ctx, async (workflowId: string, opts: { json?: boolean; watch?: string | boolean; until?: string; events: string; queryTimeout: string; timeout: string }, cmd: Command) => {
      const target = targetOf(cmd, ctx);
      const until = opts.until === undefined ? undefined : opts.until.split(',').map((p) => p.trim());
      for (const p of until ?? []) {
        if (!PHASES.includes(p as Phase)) throw new CliError(`--until ${JSON.stringify(p)}: must be one of ${PHASES.join(', ')}`);
      }
      const every = opts.watch === undefined || opts.watch === false ? (until ? 5 : null) : typeof opts.watch === 'string' ? positiveNumber('watch', opts.watch) : 5;
      const events = Math.floor(Number(opts.events));
      if (!Number.isFinite(events) || events < 0) throw new CliError(`--events ${JSON.stringify(opts.events)}: must be a whole number ≥ 0`);
      const queryTimeoutMs = positiveNumber('query-timeout', opts.queryTimeout) * 1000;
      const deadline = Date.now() + positiveNumber('timeout', opts.timeout) * 1000;
      const show = (answer: StatusAnswer, redraw: boolean, first: boolean) => {
        if (opts.json) return io.out(JSON.stringify(answer, null, every && !until ? undefined : 2));
        const text = renderStatus(answer, { now: Date.now(), workflowUrl: workflowUrl(target, workflowId), events });
        if (redraw && io.isTTY) io.out(`\x1b[2J\x1b[H${text}\n\n(refreshing every ${every} s; Ctrl-C to stop)`);
        else io.out(redraw && !first ? `\n${'─'.repeat(72)}\n${text}` : text);
      };
      return onServer(target, workflowId, async ({ client, connection }) => {
        if (until) {
          // Quiet progress: one line per phase change (from the history), the full view once at the end.
          const pollMs = (every ?? 5) * 1000;
          return waitUntilPhase({
            client, connection, workflowId, until, pollMs, deadline, timeoutText: opts.timeout, queryTimeoutMs, io, signal: ctx.signal,
            show: (a) => show(a, false, true),
            quietMs: Math.max(10_000, 6 * pollMs),
          });
        }
        for (let first = true; ; first = false) {
          const answer = await fetchStatus(client, connection, workflowId, queryTimeoutMs);
          show(answer, every !== null, first);
          if (!every || finished(answer)) break;
          if (ctx.signal.aborted) break;
          await sleep((every ?? 5) * 1000, ctx.signal);
          if (ctx.signal.aborted) break;
        }
        return EXIT.OK;
      });
    }));

  program
    .command('list')
    .description('bakeoffs found by their search attributes (BakeoffPhase, ConfigHash), newest first')
    .option('--phase <phase>', `only this phase (${PHASES.join(', ')})`)
    .option('--config-hash <hex>', 'only this config (a prefix of 4+ hex characters is enough)')
    .option('--running', 'only executions still running')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON lines')
    .option('--ids', 'print only workflow ids')
    .option('--show-query', 'print the visibility query (to paste into the Web UI or `temporal workflow list -q`)')
    .action(exitWith(ctx, async (opts: { phase?: string; configHash?: string; running?: boolean; limit: string; json?: boolean; ids?: boolean; showQuery?: boolean }, cmd: Command) => {
      const target = targetOf(cmd, ctx);
      const query = listQuery(opts);
      const limit = Math.floor(positiveNumber('limit', opts.limit));
      if (opts.showQuery) io.err(`query: ${query}`);
      return onServer(target, undefined, async ({ client }) => {
        const rows: Array<{ workflowId: string; runId: string; status: string; phase: string | null; configHash: string | null; startTime: string | null; runStartTime: string; closeTime: string | null }> = [];
        for await (const w of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
          const runStartTime = w.startTime.toISOString();
          // startTime is the bakeoff's (its first run's): after continue-as-new the listed run started later.
          // (The dev server's visibility store leaves firstRunId empty: describe the run to learn it.)
          const firstRunId =
            w.raw.firstRunId ||
            (await client.workflow.getHandle(w.workflowId, w.runId).describe().then((d) => d.raw.workflowExecutionInfo?.firstRunId || null, () => null));
          rows.push({
            workflowId: w.workflowId,
            runId: w.runId,
            status: w.status.name,
            phase: w.typedSearchAttributes.get(PHASE_KEY) ?? null,
            configHash: w.typedSearchAttributes.get(HASH_KEY) ?? null,
            startTime: await bakeoffStartTime(client, w.workflowId, { runId: w.runId, startTime: runStartTime, firstRunId }),
            runStartTime,
            closeTime: w.closeTime ? w.closeTime.toISOString() : null,
          });
          if (rows.length >= limit) break;
        }
        if (opts.ids) for (const r of rows) io.out(r.workflowId);
        else if (opts.json) for (const r of rows) io.out(JSON.stringify(r));
        else if (rows.length === 0) io.out(`no bakeoffs match (${query})`);
        else {
          io.out(
            renderTable(
              ['WORKFLOW ID', 'STATUS', 'PHASE', 'CONFIG', 'STARTED'],
              rows.map((r) => [r.workflowId, r.status.toLowerCase(), r.phase ?? '—', r.configHash ? `${r.configHash.slice(0, 12)}…` : '—', r.startTime ? formatTime(r.startTime) : `${formatTime(r.runStartTime)} (this run)`]),
            ),
          );
        }
        return EXIT.OK;
      });
    }));
}
