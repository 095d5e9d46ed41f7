// The operator's actions on a running bakeoff: rollback, pause, resume, promote, extend-soak, approve,
// abort. Each is a SIGNAL by default — the server records it even while no worker runs, which is
// exactly when on-call needs rollback — and an UPDATE with --wait, which is validated by the workflow
// and answered with the new status (so a rejected promote says why at once). Arguments are checked
// here with the workflow's own schemas first, so a typo never reaches the history.
import type { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Command } from 'commander';
import type { z } from 'zod';
import { formatDuration, parseDuration } from '../../workflows/duration';
import {
  AbortArgsSchema, abortSignal, abortUpdate,
  ApproveArgsSchema, approveSignal, approveUpdate,
  ExtendSoakArgsSchema, extendSoakSignal, extendSoakUpdate,
  PauseArgsSchema, pauseSignal, pauseUpdate,
  PromoteArgsSchema, promoteSignal, promoteUpdate,
  ResumeArgsSchema, resumeSignal, resumeUpdate,
  RollbackArgsSchema, rollbackSignal, rollbackUpdate,
} from '../../workflows/messages';
import type { BakeoffStatus } from '../../workflows/types';
import { exitWith, onServer, targetOf, type CliContext } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { renderStatus } from '../render';
import { describeBakeoff, summarize } from '../status-source';
import { defaultActor, workflowUrl } from '../target';

/** A worker long-polls about once a minute; a poller seen within this window is taken as alive. */
const POLLER_FRESH_MS = 90_000;

interface ActionSpec {
  /** CLI command and the words used in messages. */
  command: string;
  description: string;
  schema: z.ZodType;
  /** Default --timeout for --wait: rollback and abort answer only once the pointer is restored. */
  waitTimeout: string;
  /** The definitions in src/workflows/messages.ts; only their names travel. */
  signal: { name: string };
  update: { name: string };
}

const ACTIONS: ActionSpec[] = [
  { command: 'rollback', description: 'roll the bakeoff back: the active pointer returns to the baseline (works with no worker up: the signal is applied when one starts)', schema: RollbackArgsSchema, waitTimeout: '10m', signal: rollbackSignal, update: rollbackUpdate },
  { command: 'pause', description: 'stop the soak clock of the current stage (traffic split stays as it is)', schema: PauseArgsSchema, waitTimeout: '1m', signal: pauseSignal, update: pauseUpdate },
  { command: 'resume', description: 'let the soak clock run again', schema: ResumeArgsSchema, waitTimeout: '1m', signal: resumeSignal, update: resumeUpdate },
  { command: 'promote', description: 'skip the rest of the current soak (--full: skip every remaining stage and promote now)', schema: PromoteArgsSchema, waitTimeout: '1m', signal: promoteSignal, update: promoteUpdate },
  { command: 'extend-soak', description: 'add time to the current stage\'s soak', schema: ExtendSoakArgsSchema, waitTimeout: '1m', signal: extendSoakSignal, update: extendSoakUpdate },
  { command: 'approve', description: 'continue a bakeoff that awaits an operator (inconclusive gates)', schema: ApproveArgsSchema, waitTimeout: '1m', signal: approveSignal, update: approveUpdate },
  { command: 'abort', description: 'stop the bakeoff and roll back (the answer to an inconclusive verdict you do not accept)', schema: AbortArgsSchema, waitTimeout: '10m', signal: abortSignal, update: abortUpdate },
];

interface ActionOpts {
  reason?: string;
  by?: string;
  full?: boolean;
  wait?: boolean;
  timeout?: string;
  json?: boolean;
}

/** The message argument exactly as the workflow's schema wants it; problems become "field: message" lines. */
export function actionArgs(spec: ActionSpec, opts: ActionOpts, env: NodeJS.ProcessEnv, duration?: string): Record<string, unknown> {
  const by = opts.by ?? defaultActor(env);
  const args: Record<string, unknown> = { by };
  if (opts.reason !== undefined) args.reason = opts.reason;
  if (spec.command === 'promote' && opts.full) args.full = true;
  if (spec.command === 'extend-soak') {
    const d = parseDuration(duration);
    if (!d.ok) throw new CliError(`bad duration: ${d.reason}`);
    args.duration = duration;
  }
  const parsed = spec.schema.safeParse(args);
  if (!parsed.success) {
    throw new CliError(
      `${spec.command}: ` +
        parsed.error.issues.map((i) => `--${String(i.path[0] ?? 'input')} ${i.message}`).join('; '),
    );
  }
  return args;
}

/** Pollers seen on the workflow task queue recently (0: nobody will act on a message until a worker starts). */
export async function livePollers(client: Client, namespace: string, taskQueue: string): Promise<number> {
  try {
    const r = await client.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    const now = Date.now();
    return (r.pollers ?? []).filter((p) => {
      const s = Number(p.lastAccessTime?.seconds ?? 0);
      return now - s * 1000 < POLLER_FRESH_MS;
    }).length;
  } catch {
    return -1; // unknown: say nothing rather than something wrong
  }
}

async function sendUpdate(connection: Connection, client: Client, spec: ActionSpec, workflowId: string, args: unknown, timeoutMs: number): Promise<BakeoffStatus> {
  const handle = client.workflow.getHandle(workflowId);
  return connection.withAbortSignal(AbortSignal.timeout(timeoutMs), () => handle.executeUpdate<BakeoffStatus, [unknown]>(spec.update.name, { args: [args] }));
}

export function registerControlCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  for (const spec of ACTIONS) {
    const cmd = program
      .command(spec.command === 'extend-soak' ? 'extend-soak <workflowId> <duration>' : `${spec.command} <workflowId>`)
      .description(spec.description)
      .option('--by <name>', 'who is acting (default $USER)');
    if (spec.command === 'rollback' || spec.command === 'abort') cmd.requiredOption('--reason <text>', 'why (recorded in the history, the status and the pointer history)');
    else if (spec.command === 'pause' || spec.command === 'approve') cmd.option('--reason <text>', 'why (recorded)');
    if (spec.command === 'promote') cmd.option('--full', 'skip every remaining stage and promote now');
    cmd
      .option('--wait', `use the ${spec.update.name} update: the workflow validates the request and answers (needs a running worker)`)
      .option('--timeout <duration>', 'with --wait: how long to wait for the answer', spec.waitTimeout)
      .option('--json', 'with --wait: print the new status as JSON');
    cmd.action(exitWith(ctx, async (workflowId: string, ...rest: unknown[]) => {
      const duration = spec.command === 'extend-soak' ? (rest.shift() as string) : undefined;
      const opts = rest[0] as ActionOpts;
      const command = rest[1] as Command;
      const args = actionArgs(spec, opts, ctx.env, duration);
      const timeout = parseDuration(opts.timeout ?? spec.waitTimeout);
      if (!timeout.ok) throw new CliError(`--timeout: ${timeout.reason}`);
      const target = targetOf(command, ctx);
      return onServer(target, workflowId, async ({ client, connection }) => {
        const d = await describeBakeoff(client, workflowId);
        const exec = summarize(d);
        if (exec.executionStatus !== 'RUNNING') {
          throw new CliError(`bakeoff ${workflowId} has already finished (${exec.executionStatus.toLowerCase()}${exec.phase ? `, phase ${exec.phase}` : ''}): there is nothing to ${spec.command}`);
        }
        const pollers = await livePollers(client, target.namespace, exec.taskQueue);
        if (!opts.wait) {
          await client.workflow.getHandle(workflowId).signal(spec.signal.name, args);
          const extra = duration ? `, +${formatDuration((parseDuration(duration) as { ms: number }).ms)}` : '';
          io.out(`${spec.signal.name} signal sent to ${workflowId} (by ${String(args.by)}${args.reason ? `: ${String(args.reason)}` : ''}${extra})`);
          if (pollers === 0) {
            io.out(`NOTE: no worker is polling task queue '${exec.taskQueue}': the signal is recorded in the workflow's history and applied as soon as a worker starts (bakeoff worker).`);
          } else {
            io.out(`check it: bakeoff status ${workflowId}${workflowUrl(target, workflowId) ? `  (web UI: ${workflowUrl(target, workflowId)})` : ''}`);
          }
          return EXIT.OK;
        }
        if (pollers === 0) {
          throw new CliError(
            `no worker is polling task queue '${exec.taskQueue}', so nothing can answer the ${spec.update.name} update; ` +
              `send the signal instead (the same command without --wait): it is recorded and applied when a worker starts`,
          );
        }
        const status = await sendUpdate(connection, client, spec, workflowId, args, timeout.ms);
        if (opts.json) io.out(JSON.stringify(status, null, 2));
        else {
          io.out(`${spec.update.name} acknowledged by ${workflowId}: phase ${status.phase}${status.paused ? ' (paused)' : ''}`);
          io.out('');
          io.out(renderStatus({ execution: exec, status, source: 'query', note: null }, { now: Date.now(), workflowUrl: workflowUrl(target, workflowId), events: 4 }));
        }
        return EXIT.OK;
      });
    }));
  }
}
