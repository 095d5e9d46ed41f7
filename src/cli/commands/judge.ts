// `bakeoff judge backtest`: replays a lane's recorded live_kpis windows — or synthetic traffic from
// stated distributions — through the live judge (src/workflows/live-judge.ts), so operators can see
// what the judge would have decided and choose thresholds before a real rollout.
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { liveKpiSpan, readLiveWindows } from '../../store/live-kpis';
import { pointerHistory } from '../../store/pointer';
import { parseDuration } from '../../workflows/duration';
import { replayJudge, type LiveDecision } from '../../workflows/live-judge';
import { LiveThresholdsSchema, laneSchema, type LiveThresholds } from '../../workflows/messages';
import type { SideEvidence } from '../../workflows/live-evidence';
import type { Gate } from '../../workflows/types';
import { exitWith, type CliContext } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { groupIntoChecks, median, simulateBakeoffs, stagesFromPointer, wilson95, windowsWithoutHistogram, type PointerEvent, type TrafficModel } from '../judge-backtest';
import { formatTime, renderTable } from '../render';
import { withStore } from '../store';

/** Commander's option values: strings (and `synthetic` a flag); none has a commander default, so "given" is visible. */
type RawFlags = Record<string, string | boolean | undefined>;

const num = (what: string, min: number, max: number) =>
  z.coerce.number({ error: `must be a number (${what})` }).refine((v) => Number.isFinite(v) && v >= min && v <= max, `must be ${min}..${max} (${what})`);
const int = (what: string, min: number, max: number) => num(what, min, max).refine((v) => Number.isInteger(v), `must be a whole number (${what})`);
const list = (what: string, min: number, max: number) =>
  z.string().transform((s, c) => {
    const parts = s.split(',').map((p) => Number(p.trim()));
    if (parts.length === 0 || parts.some((p) => !Number.isInteger(p) || p < min || p > max)) {
      c.addIssue({ code: 'custom', message: `must be a comma-separated list of whole numbers ${min}..${max} (${what})` });
      return z.NEVER;
    }
    return parts;
  });
const duration = z.string().transform((s, c) => {
  const d = parseDuration(s);
  if (!d.ok || d.ms < 1000) {
    c.addIssue({ code: 'custom', message: d.ok ? 'must be at least 1s' : d.reason });
    return z.NEVER;
  }
  return d.ms;
});
const isoTime = z.string().transform((s, c) => {
  const t = Date.parse(s);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(t)) {
    c.addIssue({ code: 'custom', message: `'${s}' is not an ISO time (e.g. 2026-12-01T10:00:00Z)` });
    return z.NEVER;
  }
  return t;
});

const RecordedFlagsSchema = z.strictObject({
  lane: laneSchema.default('default'),
  from: isoTime.optional(),
  to: isoTime.optional(),
  checkInterval: duration.default(5 * 60_000),
  thresholds: z.string().optional(),
  checksPerStage: list('checks in each stage', 1, 100_000).optional(),
});

const SYNTHETIC_DEFAULTS = {
  requests: 200,
  latencyMedianMs: 40,
  latencySigma: 0.6,
  quality: 0.8,
  errorRate: 0.005,
  candidateQualityDeltaPts: 0,
  candidateErrorDeltaPts: 0,
  candidateLatencyFactor: 1,
  bakeoffs: 200,
  seed: 1,
  // The default ramp: 3 stages of 16 h checked every 5 min.
  checksPerStage: [192, 192, 192],
};

const SyntheticFlagsSchema = z.strictObject({
  synthetic: z.literal(true),
  requests: int('requests per side per window', 1, 1_000_000).default(SYNTHETIC_DEFAULTS.requests),
  latencyMedianMs: num('ms', 0.001, 600_000).default(SYNTHETIC_DEFAULTS.latencyMedianMs),
  latencySigma: num('σ of log-latency', 0, 5).default(SYNTHETIC_DEFAULTS.latencySigma),
  quality: num('a share', 0, 1).default(SYNTHETIC_DEFAULTS.quality),
  errorRate: num('a share', 0, 1).default(SYNTHETIC_DEFAULTS.errorRate),
  candidateQualityDeltaPts: num('points', -100, 100).default(SYNTHETIC_DEFAULTS.candidateQualityDeltaPts),
  candidateErrorDeltaPts: num('points', -100, 100).default(SYNTHETIC_DEFAULTS.candidateErrorDeltaPts),
  candidateLatencyFactor: num('a multiplier of every latency', 0.01, 100).default(SYNTHETIC_DEFAULTS.candidateLatencyFactor),
  bakeoffs: int('bakeoffs to simulate', 1, 1_000_000).default(SYNTHETIC_DEFAULTS.bakeoffs),
  seed: int('seed', 0, 2 ** 32 - 1).default(SYNTHETIC_DEFAULTS.seed),
  checksPerStage: list('checks in each stage', 1, 100_000).default(() => [...SYNTHETIC_DEFAULTS.checksPerStage]),
  ramp: list('candidate percent per stage', 1, 100).optional(),
  thresholds: z.string().optional(),
});

const SYNTHETIC_ONLY = ['requests', 'latencyMedianMs', 'latencySigma', 'quality', 'errorRate', 'candidateQualityDeltaPts', 'candidateErrorDeltaPts', 'candidateLatencyFactor', 'bakeoffs', 'seed', 'ramp'];
const RECORDED_ONLY = ['lane', 'from', 'to', 'checkInterval'];

const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function parseFlags<S extends z.ZodType>(schema: S, raw: RawFlags): z.output<S> {
  const given = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const r = schema.safeParse(given);
  if (!r.success) {
    const i = r.error.issues[0];
    const key = String(i.path[0] ?? '');
    throw new CliError(i.code === 'unrecognized_keys' ? `${flagName(i.keys[0])} does not apply here` : `${flagName(key)} ${JSON.stringify(given[key])}: ${i.message}`);
  }
  return r.data;
}

/**
 * Thresholds from a JSON file: a live-thresholds object, or a whole bakeoff input (its
 * thresholds.live is used). Absent fields take their defaults; every mistake is one line naming the file.
 */
export function readThresholdsFile(file: string | undefined): LiveThresholds {
  if (file === undefined) return LiveThresholdsSchema.parse({});
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`--thresholds ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const pos = /position (\d+)/.exec((err as Error).message);
    const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : 1;
    throw new CliError(`${file}:${line}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const obj = json as { thresholds?: { live?: unknown } } | null;
  const live = obj !== null && typeof obj === 'object' && 'thresholds' in obj ? (obj.thresholds?.live ?? {}) : json;
  const r = LiveThresholdsSchema.safeParse(live);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CliError(`${file}: ${i.path.join('.') || '(thresholds)'}: ${i.message}`);
  }
  return r.data;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const sides = (b: SideEvidence, c: SideEvidence) => `${b.requests}/${c.requests}`;

/** The gate that decided a check: a failed one, else the first not yet passed, else the decision's own words. */
function decidingReason(d: LiveDecision): string {
  const g: Gate | undefined = d.gates.find((x) => x.verdict === 'fail') ?? d.gates.find((x) => x.verdict === 'inconclusive');
  return g ? `${g.name}: ${g.reason}` : d.why;
}

function describeThresholds(t: LiveThresholds): string {
  return `alpha ${t.alpha}, minSamples ${t.minSamples}, errors +${t.maxErrorRateIncreasePts} pts, quality −${t.maxQualityDropPts} pts, p95 +${t.maxP95IncreasePct} % (floor ${t.p95MinIncreaseMs} ms)`;
}

export function registerJudgeCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const judge = program.command('judge').description('the live judge off-line: what it decides on recorded or synthetic traffic');

  judge
    .command('backtest')
    .description('replay a lane\'s recorded live KPI windows (or --synthetic traffic) through the live judge')
    .option('--lane <lane>', 'serving lane whose live_kpis windows to replay (default "default")')
    .option('--from <iso>', 'start of the span (default: the lane\'s first recorded window)')
    .option('--to <iso>', 'end of the span (default: the lane\'s last recorded window)')
    .option('--check-interval <duration>', 'how often the bakeoff checks (default 5m)')
    .option('--checks-per-stage <list>', 'checks in each ramp stage, e.g. 192,192,192 (recorded default: the stages the pointer history shows, else one stage)')
    .option('--thresholds <file>', 'JSON live thresholds, or a bakeoff input file (its thresholds.live)')
    .option('--synthetic', 'simulate bakeoffs from the distributions below instead of reading the store')
    .option('--requests <n>', 'synthetic: requests per side per window (200)')
    .option('--latency-median-ms <ms>', 'synthetic: baseline latency median, lognormal (40)')
    .option('--latency-sigma <σ>', 'synthetic: σ of log-latency (0.6)')
    .option('--quality <share>', 'synthetic: baseline quality-proxy share (0.8)')
    .option('--error-rate <share>', 'synthetic: baseline error rate (0.005)')
    .option('--candidate-quality-delta-pts <pts>', 'synthetic: candidate quality − baseline, points (0)')
    .option('--candidate-error-delta-pts <pts>', 'synthetic: candidate error rate − baseline, points (0)')
    .option('--candidate-latency-factor <x>', 'synthetic: candidate latency = baseline × this (1)')
    .option('--ramp <list>', 'synthetic: candidate percent per stage, e.g. 10,50,100 (default: equal split); 2 × --requests per window are shared')
    .option('--bakeoffs <n>', 'synthetic: bakeoffs to simulate (200)')
    .option('--seed <n>', 'synthetic: seed (1)')
    .action(exitWith(ctx, async (raw: RawFlags) => {
      if (raw.synthetic) {
        const stray = RECORDED_ONLY.find((k) => raw[k] !== undefined);
        if (stray) throw new CliError(`${flagName(stray)} reads recorded windows: it does not apply with --synthetic`);
        return synthetic(parseFlags(SyntheticFlagsSchema, raw));
      }
      const stray = SYNTHETIC_ONLY.find((k) => raw[k] !== undefined);
      if (stray) throw new CliError(`${flagName(stray)} describes synthetic traffic: add --synthetic, or drop it to replay recorded windows`);
      return recorded(parseFlags(RecordedFlagsSchema, raw));
    }));

  async function recorded(f: z.output<typeof RecordedFlagsSchema>) {
    const thresholds = readThresholdsFile(f.thresholds);
    const { span, windows, events } = await withStore(ctx.env, async (db) => {
      const all = await liveKpiSpan(db, f.lane);
      const from = f.from ?? all?.fromMs;
      const to = f.to ?? all?.toMs;
      if (from === undefined || to === undefined) throw new CliError(`lane '${f.lane}' has no recorded live KPI windows (the serving path writes them: bakeoff serve)`);
      if (to <= from) throw new CliError(`--to must be after --from (${formatTime(from)} .. ${formatTime(to)})`);
      const history = f.checksPerStage ? [] : await pointerHistory(db, f.lane);
      const events: PointerEvent[] = history.map((h) => ({ atMs: Date.parse(h.updatedAt), action: h.action, canaryPercent: h.canaryPercent }));
      return { span: { from, to }, windows: await readLiveWindows(db, f.lane, from, to), events };
    }, { mustExist: true, command: 'judge backtest' });
    if (windows.length === 0) throw new CliError(`lane '${f.lane}' has no live KPI windows ending in ${formatTime(span.from)} .. ${formatTime(span.to)}`);
    // The stages: as given, else the ramp the pointer history shows in the span, else one stage.
    const plan = f.checksPerStage ? null : stagesFromPointer(windows, events, span.from, span.to, f.checkInterval);
    const checks = plan?.checks ?? groupIntoChecks(windows, span.from, span.to, f.checkInterval);
    const perStage = plan?.checksPerStage ?? f.checksPerStage ?? [checks.length];
    const decisions = replayJudge(checks, { thresholds, stages: perStage.length, checksPerStage: perStage, percents: plan?.stages.map((st) => st.percent) });
    io.out(`lane ${f.lane}: ${windows.length} windows in ${formatTime(span.from)} .. ${formatTime(span.to)} → ${checks.length} checks every ${f.checkInterval / 1000} s, stages ${perStage.join(',')}`);
    if (plan) io.out(`stages from the pointer history: ${plan.stages.map((st, i) => `${st.percent} % from ${formatTime(st.fromMs)} (${perStage[i]} checks)`).join(' · ')}`);
    io.out(`thresholds: ${describeThresholds(thresholds)}`);
    const legacy = windowsWithoutHistogram(windows);
    if (legacy > 0) io.out(`note: ${legacy} of ${windows.length} windows have no latency histogram (recorded before poolable evidence): they add no latency evidence`);
    io.out('');
    io.out(renderTable(
      ['CHECK', 'ENDS', 'REQUESTS B/C', 'VERDICT', 'ACTION', 'DECIDING GATE'],
      decisions.map((d, i) => [String(i + 1), formatTime(checks[i].toMs), sides(checks[i].baseline, checks[i].candidate), d.verdict, d.action, decidingReason(d)]),
    ));
    const last = decisions[decisions.length - 1];
    const outcome =
      last?.action === 'rollback' ? `rolled back at check ${decisions.length}` :
      decisions.length < checks.length ? `stopped after the ${perStage.length} stage(s) of --checks-per-stage (${decisions.length} of ${checks.length} checks)` :
      last?.action === 'advance' ? 'promoted: non-breach proven at the last stage end' :
      last?.action === 'ask-operator' ? `no rollback in ${decisions.length} checks; the last stage ended without proof of non-breach: an operator would be asked` :
      `no rollback in ${decisions.length} checks`;
    io.out('');
    io.out(`outcome: ${outcome}`);
    return EXIT.OK;
  }

  function synthetic(f: z.output<typeof SyntheticFlagsSchema>) {
    const thresholds = readThresholdsFile(f.thresholds);
    if (f.ramp && f.ramp.length !== f.checksPerStage.length) {
      throw new CliError(`--ramp has ${f.ramp.length} stages but --checks-per-stage has ${f.checksPerStage.length}: give both the same number`);
    }
    const model: TrafficModel = {
      requests: f.requests, latencyMedianMs: f.latencyMedianMs, latencySigma: f.latencySigma, quality: f.quality, errorRate: f.errorRate,
      candidateQualityDeltaPts: f.candidateQualityDeltaPts, candidateErrorDeltaPts: f.candidateErrorDeltaPts, candidateLatencyFactor: f.candidateLatencyFactor,
    };
    const t0 = Date.now();
    const r = simulateBakeoffs({ model, thresholds, checksPerStage: f.checksPerStage, ramp: f.ramp, bakeoffs: f.bakeoffs, seed: f.seed });
    const total = f.checksPerStage.reduce((a, b) => a + b, 0);
    io.out(`synthetic: ${f.bakeoffs} bakeoffs × ${total} checks (stages ${f.checksPerStage.join(',')}${f.ramp ? `, candidate ${f.ramp.join('/')} %` : ', equal split'}), seed ${f.seed}`);
    io.out(`traffic per window: ${f.ramp ? `${2 * f.requests} requests shared by the split` : `${f.requests} requests per side`}; latency lognormal median ${f.latencyMedianMs} ms σ ${f.latencySigma}; quality ${f.quality}; error rate ${f.errorRate}`);
    io.out(`candidate: quality ${signed(f.candidateQualityDeltaPts)} pts, errors ${signed(f.candidateErrorDeltaPts)} pts, latency ×${f.candidateLatencyFactor} → ${r.healthy ? 'healthy (every harm within its tolerance)' : 'breaches a tolerance'}`);
    io.out(`thresholds: ${describeThresholds(thresholds)}`);
    const [lo, hi] = wilson95(r.rolledBack, r.bakeoffs);
    const rate = `${pct(r.rolledBack / r.bakeoffs)} (${r.rolledBack} of ${r.bakeoffs}; 95 % CI ${pct(lo)}..${pct(hi)})`;
    io.out(r.healthy ? `false-rollback rate: ${rate}` : `rolled back (detected): ${rate}`);
    const med = median(r.checksToRollback);
    io.out(`median checks to ${r.healthy ? 'a false rollback' : 'detect'}: ${med === null ? '— (none rolled back)' : med} · within 6 checks: ${pct(r.withinSixChecks / r.bakeoffs)}`);
    io.out(`asked an operator at a stage end: ${pct(r.askedOperator / r.bakeoffs)} · promoted: ${pct(r.promoted / r.bakeoffs)} · ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return EXIT.OK;
  }
}

const signed = (x: number) => (x >= 0 ? `+${x}` : `−${-x}`);
