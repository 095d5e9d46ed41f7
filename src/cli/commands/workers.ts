// `bakeoff workers`: is a worker really up? `temporal task-queue describe` lists every poller the
// server saw in the last minutes, a worker killed with -9 included. This lists only pollers whose last
// poll is at most --within seconds old, for the workflow and the activity side of the task queue, and
// exits 2 when either side has none (so scripts and the runbook can rely on it).
import { temporal } from '@temporalio/proto';
import type { Command } from 'commander';
import { exitWith, onServer, targetOf, type CliContext } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { renderTable } from '../render';

// An idle worker's long poll is answered empty after about a minute and renewed at once, so a live
// worker's last poll is at most ~60 s old: 70 s tells a live worker from a dead one without flapping.
const DEFAULT_WITHIN_S = 70;

export interface SeenPoller {
  kind: 'workflow' | 'activity';
  identity: string;
  lastPollAgoS: number;
}

export function registerWorkersCommand(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  program
    .command('workers')
    .description(`workers polling the task queue recently (a killed worker drops out after --within seconds; exit 2 when none)`)
    .option('--within <seconds>', 'count a poller seen at most this long ago', String(DEFAULT_WITHIN_S))
    .option('--json', 'print JSON')
    .action(exitWith(ctx, async (opts: { within: string; json?: boolean }, cmd: Command) => {
      const within = Number(opts.within);
      if (!Number.isFinite(within) || within <= 0) throw new CliError(`--within ${JSON.stringify(opts.within)}: must be a positive number of seconds`);
      const target = targetOf(cmd, ctx);
      return onServer(target, undefined, async ({ connection }) => {
        const now = Date.now();
        const seen: SeenPoller[] = [];
        for (const kind of ['workflow', 'activity'] as const) {
          const res = await connection.workflowService.describeTaskQueue({
            namespace: target.namespace,
            taskQueue: { name: target.taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
            taskQueueType: kind === 'workflow' ? temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
          });
          for (const p of res.pollers ?? []) {
            const t = p.lastAccessTime;
            const at = t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
            const ago = Math.max(0, (now - at) / 1000);
            if (ago <= within) seen.push({ kind, identity: p.identity ?? '?', lastPollAgoS: Math.round(ago * 10) / 10 });
          }
        }
        const up = seen.some((p) => p.kind === 'workflow') && seen.some((p) => p.kind === 'activity');
        if (opts.json) io.out(JSON.stringify({ taskQueue: target.taskQueue, namespace: target.namespace, withinS: within, up, pollers: seen }));
        else if (seen.length === 0) io.out(`no worker polled task queue '${target.taskQueue}' (namespace ${target.namespace}) in the last ${within} s: start one with \`bakeoff worker\``);
        else {
          io.out(renderTable(['KIND', 'IDENTITY', 'LAST POLL'], seen.map((p) => [p.kind, p.identity, `${p.lastPollAgoS.toFixed(1)} s ago`])));
          if (!up) io.out(`only ${seen[0].kind} pollers on '${target.taskQueue}' in the last ${within} s: not a bakeoff worker (it polls both)`);
        }
        return up ? EXIT.OK : EXIT.ERROR;
      });
    }));
}
