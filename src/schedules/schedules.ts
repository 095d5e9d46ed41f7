// Temporal Schedules for the lane's recurring evaluations: a nightly smoke evaluation (the first
// few dev cases) and a weekly full evaluation of the dev split (seed 001), each starting the
// scheduledEvaluation workflow. applySchedules makes the server match this definition and says
// what it did: create what is missing, update what differs, leave alone what is equal — so it is
// safe to run from every deploy, CI job and operator shell (`bakeoff schedules apply`).
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../workflows/duration';
import { laneSchema } from '../workflows/messages';
import type { ScheduledEvaluationInputRaw } from '../workflows/scheduled-evaluation';
import { calendarSets, parseCron, sameCalendarSets } from './cron';
import { formatZodIssues } from '../platform/zod-issues';

export class ScheduleSettingsError extends Error {
  override name = 'ScheduleSettingsError';
}

const cronSchema = z.string().transform((v, ctx) => {
  const r = parseCron(v);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.reason });
    return z.NEVER;
  }
  return v.trim().replace(/\s+/g, ' ');
});

const timezoneSchema = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { error: (iss) => `unknown time zone ${JSON.stringify(iss.input)} (use an IANA name like 'UTC' or 'Europe/Berlin')` },
);

const caseSetSchema = z.string().trim().min(1).max(500);

export const ScheduleSettingsSchema = z.strictObject({
  /** Task queue of the worker that runs scheduledEvaluation (the bakeoff worker's). */
  taskQueue: z.string().trim().min(1, 'taskQueue must name the worker task queue'),
  lane: laneSchema.default('default'),
  timezone: timezoneSchema.default('UTC'),
  /** Schedule ids are `<idPrefix>-eval-<name>-<lane>`; tests use their own prefix. */
  idPrefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$/, 'idPrefix: letters, digits, . _ - (max 61)').default('bakeoff'),
  nightly: z
    .strictObject({
      cron: cronSchema.default('0 2 * * *'),
      caseSetRef: caseSetSchema.default('faq:dev'),
      /** The smoke: the first N cases of the case set. */
      maxCases: z.int().min(1).max(100_000).default(20),
      k: z.int().min(1).max(100).default(10),
    })
    .prefault({}),
  weekly: z
    .strictObject({
      cron: cronSchema.default('0 3 * * 0'),
      caseSetRef: caseSetSchema.default('faq:dev'),
      k: z.int().min(1).max(100).default(10),
    })
    .prefault({}),
  /** How late a missed run (server or worker down at the scheduled time) may still start. */
  catchupWindow: z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const r = parseDuration(v);
      if (!r.ok || r.ms < 60_000) {
        ctx.addIssue({ code: 'custom', message: r.ok ? 'catchupWindow must be at least 1m' : r.reason });
        return z.NEVER;
      }
      return r.ms;
    })
    .prefault('1d'),
});
export type ScheduleSettingsRaw = z.input<typeof ScheduleSettingsSchema>;
export type ScheduleSettings = z.output<typeof ScheduleSettingsSchema>;

export function parseScheduleSettings(raw: unknown): ScheduleSettings {
  const r = ScheduleSettingsSchema.safeParse(raw);
  if (!r.success) throw new ScheduleSettingsError(formatZodIssues(r.error, { root: '(settings)' }));
  return r.data;
}

export type ScheduleName = 'nightly-smoke' | 'weekly-full';

/** What one schedule should look like; `options` is what create/update send. */
export interface DesiredSchedule {
  name: ScheduleName;
  scheduleId: string;
  cron: string;
  timezone: string;
  args: ScheduledEvaluationInputRaw;
  options: ScheduleOptions;
}

export function scheduleIdFor(settings: Pick<ScheduleSettings, 'idPrefix' | 'lane'>, name: ScheduleName): string {
  return `${settings.idPrefix}-eval-${name}-${settings.lane}`;
}

export function desiredSchedules(settings: ScheduleSettings): DesiredSchedule[] {
  const defs: { name: ScheduleName; cron: string; note: string; args: Omit<ScheduledEvaluationInputRaw, 'scheduleId'> }[] = [
    {
      name: 'nightly-smoke',
      cron: settings.nightly.cron,
      note: `nightly smoke evaluation of lane ${settings.lane}: first ${settings.nightly.maxCases} cases of ${settings.nightly.caseSetRef}`,
      args: { kind: 'smoke', lane: settings.lane, caseSetRef: settings.nightly.caseSetRef, k: settings.nightly.k, maxCases: settings.nightly.maxCases },
    },
    {
      name: 'weekly-full',
      cron: settings.weekly.cron,
      note: `weekly full evaluation of lane ${settings.lane} on ${settings.weekly.caseSetRef} (seed 001)`,
      args: { kind: 'full', lane: settings.lane, caseSetRef: settings.weekly.caseSetRef, k: settings.weekly.k },
    },
  ];
  return defs.map((d) => {
    const scheduleId = scheduleIdFor(settings, d.name);
    const args: ScheduledEvaluationInputRaw = { ...d.args, scheduleId };
    return {
      name: d.name,
      scheduleId,
      cron: d.cron,
      timezone: settings.timezone,
      args,
      options: {
        scheduleId,
        spec: { cronExpressions: [d.cron], timezone: settings.timezone },
        action: {
          type: 'startWorkflow',
          workflowType: 'scheduledEvaluation',
          // The server appends the scheduled time: one id per run, grouped by schedule.
          workflowId: scheduleId,
          taskQueue: settings.taskQueue,
          args: [args],
          // Shown in the Web UI on every run; also tells applySchedules the cron it last applied.
          memo: { bakeoffSchedule: d.name, cron: d.cron },
        },
        // A run still going when the next is due (a slow full eval) is skipped, not stacked.
        policies: { overlap: 'SKIP', catchupWindow: settings.catchupWindow, pauseOnFailure: false },
        state: { note: d.note },
      },
    };
  });
}

export interface ScheduleApplyResult {
  name: ScheduleName;
  scheduleId: string;
  action: 'created' | 'updated' | 'unchanged';
  /** What differed (empty unless updated). */
  changes: string[];
}

const canonical = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));

/** Every difference between the server's schedule and the desired one, in words. */
export function scheduleDifferences(have: ScheduleDescription, want: DesiredSchedule): string[] {
  const out: string[] = [];
  const wantSets = parseCron(want.cron);
  const haveSets = have.spec.calendars?.map(calendarSets) ?? [];
  const appliedCron = typeof have.action.memo?.cron === 'string' ? have.action.memo.cron : null;
  if (!wantSets.ok || !sameCalendarSets(haveSets, [wantSets.sets]) || (have.spec.intervals?.length ?? 0) > 0) {
    out.push(`cron ${appliedCron ? `'${appliedCron}'` : '(changed outside bakeoff)'} → '${want.cron}'`);
  }
  if ((have.spec.timezone ?? 'UTC') !== want.timezone) out.push(`timezone '${have.spec.timezone ?? 'UTC'}' → '${want.timezone}'`);
  const a = have.action;
  const w = want.options.action;
  if (a.type !== 'startWorkflow') {
    out.push(`action type ${a.type} → startWorkflow`);
    return out;
  }
  if (a.workflowType !== w.workflowType) out.push(`workflow type ${a.workflowType} → ${String(w.workflowType)}`);
  if (a.taskQueue !== w.taskQueue) out.push(`task queue ${a.taskQueue} → ${w.taskQueue}`);
  if (a.workflowId !== w.workflowId) out.push(`workflow id ${a.workflowId} → ${w.workflowId}`);
  if (canonical(a.args) !== canonical(w.args)) out.push(`arguments ${canonical(a.args)} → ${canonical(w.args)}`);
  // memo.cron only records the spelling last applied ('1-5' and 'MON-FRI' are the same spec).
  const memoKey = (m: Record<string, unknown> | undefined) => canonical({ ...(m ?? {}), cron: undefined });
  if (memoKey(a.memo) !== memoKey(w.memo)) out.push(`memo ${canonical(a.memo ?? {})} → ${canonical(w.memo ?? {})}`);
  const p = have.policies;
  const wp = want.options.policies!;
  if (p.overlap !== wp.overlap) out.push(`overlap policy ${p.overlap} → ${wp.overlap}`);
  if (p.catchupWindow !== wp.catchupWindow) out.push(`catch-up window ${formatDuration(p.catchupWindow)} → ${formatDuration(Number(wp.catchupWindow))}`);
  if (p.pauseOnFailure !== wp.pauseOnFailure) out.push(`pause on failure ${p.pauseOnFailure} → ${wp.pauseOnFailure}`);
  return out;
}

async function describeOrNull(client: Client, scheduleId: string): Promise<ScheduleDescription | null> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
}

async function applyOne(client: Client, want: DesiredSchedule): Promise<ScheduleApplyResult> {
  const base = { name: want.name, scheduleId: want.scheduleId };
  let have = await describeOrNull(client, want.scheduleId);
  if (!have) {
    try {
      await client.schedule.create(want.options);
      return { ...base, action: 'created', changes: [] };
    } catch (err) {
      // Another applier created it between our describe and create: compare with theirs.
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      have = await client.schedule.getHandle(want.scheduleId).describe();
    }
  }
  const changes = scheduleDifferences(have, want);
  if (changes.length === 0) return { ...base, action: 'unchanged', changes };
  await client.schedule.getHandle(want.scheduleId).update((prev) => ({
    spec: want.options.spec,
    action: want.options.action,
    policies: want.options.policies,
    // An operator's pause (and its note) survives an apply; only the definition is ours.
    state: { paused: prev.state.paused, note: prev.state.paused ? prev.state.note : want.options.state?.note },
  }));
  return { ...base, action: 'updated', changes };
}

/** Creates, updates or leaves each schedule so the server matches `settings`; returns what it did. */
export async function applySchedules(client: Client, settings: ScheduleSettingsRaw | ScheduleSettings): Promise<ScheduleApplyResult[]> {
  const parsed = parseScheduleSettings(settings);
  const results: ScheduleApplyResult[] = [];
  for (const want of desiredSchedules(parsed)) results.push(await applyOne(client, want));
  return results;
}

/** One line per schedule, for the CLI. */
export function formatApplyResults(results: readonly ScheduleApplyResult[]): string {
  return results
    .map((r) => `${r.action.padEnd(9)} ${r.scheduleId}${r.changes.length ? `\n          ${r.changes.join('\n          ')}` : ''}`)
    .join('\n');
}
