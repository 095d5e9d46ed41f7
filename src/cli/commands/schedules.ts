// `bakeoff schedules apply` makes the server's Temporal Schedules match the nightly smoke and weekly
// full evaluation of a lane (created / updated / unchanged, one line each, safe to run from every
// deploy); `bakeoff schedules show` prints them with their next runs. See src/schedules/schedules.ts.
import type { Command } from 'commander';
import { applySchedules, desiredSchedules, formatApplyResults, parseScheduleSettings, ScheduleSettingsError, type ScheduleSettings } from '../../schedules/schedules';
import { exitWith, onServer, targetOf, type CliContext } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';

interface ScheduleFlags {
  lane: string;
  nightlyCron: string;
  weeklyCron: string;
  timezone: string;
  smokeCases: string;
  caseSet: string;
  json?: boolean;
}

function settingsFrom(opts: ScheduleFlags, taskQueue: string): ScheduleSettings {
  const smokeCases = Number(opts.smokeCases);
  try {
    return parseScheduleSettings({
      taskQueue,
      lane: opts.lane,
      timezone: opts.timezone,
      nightly: { cron: opts.nightlyCron, caseSetRef: opts.caseSet, maxCases: smokeCases },
      weekly: { cron: opts.weeklyCron, caseSetRef: opts.caseSet },
    });
  } catch (err) {
    if (err instanceof ScheduleSettingsError) throw new CliError(err.message.split('\n').join('; '));
    throw err;
  }
}

function withScheduleFlags(cmd: Command): Command {
  return cmd
    .option('--lane <lane>', 'serving lane whose live config is evaluated', 'default')
    .option('--nightly-cron <cron>', 'when the smoke evaluation runs (5-field cron)', '0 2 * * *')
    .option('--weekly-cron <cron>', 'when the full evaluation runs (5-field cron)', '0 3 * * 0')
    .option('--timezone <tz>', 'IANA time zone of both crons', 'UTC')
    .option('--smoke-cases <n>', 'cases in the nightly smoke evaluation', '20')
    .option('--case-set <ref>', 'labelled case set of both evaluations', 'faq:dev')
    .option('--json', 'print JSON');
}

export function registerScheduleCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const schedules = program.command('schedules').description('Temporal Schedules for the nightly smoke and weekly full evaluations (history + 7-day trend)');

  withScheduleFlags(schedules.command('apply'))
    .description('create the schedules if missing, update them if their spec differs, else leave them alone')
    .action(
      exitWith(ctx, async (opts: ScheduleFlags, cmd: Command) => {
        const target = targetOf(cmd, ctx);
        const settings = settingsFrom(opts, target.taskQueue);
        return onServer(target, undefined, async ({ client }) => {
          const results = await applySchedules(client, settings);
          io.out(opts.json ? JSON.stringify(results, null, 2) : formatApplyResults(results));
          return EXIT.OK;
        });
      }),
    );

  withScheduleFlags(schedules.command('show'))
    .description('the schedules as the server has them: spec, paused, next runs, last runs')
    .action(
      exitWith(ctx, async (opts: ScheduleFlags, cmd: Command) => {
        const target = targetOf(cmd, ctx);
        const settings = settingsFrom(opts, target.taskQueue);
        return onServer(target, undefined, async ({ client }) => {
          const rows = [];
          for (const want of desiredSchedules(settings)) {
            const d = await client.schedule.getHandle(want.scheduleId).describe().catch(() => null);
            rows.push({
              scheduleId: want.scheduleId,
              exists: d !== null,
              cron: typeof d?.action.memo?.cron === 'string' ? d.action.memo.cron : null,
              timezone: d?.spec.timezone ?? null,
              paused: d?.state.paused ?? null,
              next: d?.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()) ?? [],
              recent: d?.info.recentActions.slice(-3).map((a) => ({ at: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })) ?? [],
            });
          }
          if (opts.json) io.out(JSON.stringify(rows, null, 2));
          else {
            for (const r of rows) {
              io.out(
                r.exists
                  ? `${r.scheduleId}: '${r.cron ?? '?'}' ${r.timezone}${r.paused ? ' (PAUSED)' : ''}; next ${r.next.join(', ') || '—'}; recent ${r.recent.map((x) => x.workflowId).join(', ') || '—'}`
                  : `${r.scheduleId}: missing (run 'bakeoff schedules apply')`,
              );
            }
          }
          return rows.every((r) => r.exists) ? EXIT.OK : EXIT.ERROR;
        });
      }),
    );
}
