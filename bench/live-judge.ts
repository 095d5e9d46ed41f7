// Live judge: false rollbacks and time to detect over simulated default 48-hour bakeoffs (3 stages ×
// 16 h, a check every 5 minutes = 576 checks, 192 per stage), NEW judge (src/workflows/live-judge.ts,
// pooled anytime-valid confidence sequences) vs OLD judge (gates.ts judgeLive per window + the old
// workflow's streak rules: one failed check rolls back, 6 inconclusive in a row ask an operator), both
// fed the very same windows in one run. Traffic: seeded synthetic windows (test/workflows/live-traffic-sim.ts)
// with lognormal latency (median 40 ms, σ 0.6), quality proxy 0.8, error rate 0.5 %.
// Also prints an oracle bound: the power of ONE fixed-horizon one-sided z-test at level alpha after
// check 6 with the true variances — no valid test that looks at the same 6 windows can do better
// (for latency: of the mean log latency against ln(1 + maxP95IncreasePct/100), the log-mean gate's harm).
// NEW is the judge of new bakeoffs (patches 'log-latency-gate', 'recent-window-gate', 'early-look-gate').
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/live-judge.js [--bakeoffs 2000] [--seed 1]
// --latency-rules: instead, the two latency rules of the new judge side by side (issue 11 (a)): the
// p95-share rule and the log-mean rule (patch 'log-latency-gate'), for the lognormal service
// (median 40 ms, σ 0.6): false rollbacks of an identical candidate, ×1.3 rolled back within 6 / 24
// checks, and the requests per side pooled when an identical candidate's latency gate is first proven.
//   node .bakeoff/bench-build/bench/live-judge.js --latency-rules --bakeoffs 2000 [--rows 0,1]
// --scenarios 0: only these rows of SCENARIOS in the default table (0 = the healthy candidate).
// --mid-stage: a regression that starts 4 h into stage 2 (50 %), at every offset within a recent-window
// block in turn: checks to rollback BEFORE (stage-pooled CS alone: a judge without the recent-window
// test, as bakeoffs started before patch 'recent-window-gate') and AFTER (pooled + recent window), fed
// the very same windows in one run.
//   node .bakeoff/bench-build/bench/live-judge.js --mid-stage --bakeoffs 500
import * as os from 'node:os';
import { judgeLive } from '../src/workflows/gates';
import { criticalZ, normalCdf } from '../src/workflows/breach-significance';
import { quantile } from '../src/workflows/latency-histogram';
import type { SideEvidence } from '../src/workflows/live-evidence';
import { EARLY_SHARE, GATE_WEIGHTS } from '../src/workflows/early-look';
import { initialJudgeState, judgeCheck, PLANNED_CHECKS, startStage, type LatencyRule, type LiveJudgeState } from '../src/workflows/live-judge';
import { RECENT_BLOCK_CHECKS, RECENT_SHARE } from '../src/workflows/recent-window';
import { LiveThresholdsSchema, type LiveThresholds } from '../src/workflows/messages';
import type { LiveSideKpis } from '../src/activities/types';
import {
  HEALTHY_SIDE,
  TrafficSim,
  splitOf,
  type SideModel,
} from '../test/workflows/live-traffic-sim';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const RAMP = [10, 50, 100];
const CHECKS_PER_STAGE = 192;
const WITHIN = 6;

interface Traffic {
  label: string;
  perSide: number;
  /** true: the default ramp's splits of 2·perSide requests; false: perSide on each side at every stage. */
  ramp: boolean;
}

interface Scenario {
  label: string;
  candidate: SideModel;
}

const TRAFFIC: Traffic[] = [
  { label: '200/side, equal', perSide: 200, ramp: false },
  { label: '1000/side, equal', perSide: 1000, ramp: false },
  { label: '400/window, ramp splits', perSide: 200, ramp: true },
  { label: '2000/window, ramp splits', perSide: 1000, ramp: true },
];

const SCENARIOS: Scenario[] = [
  { label: 'healthy (identical)', candidate: HEALTHY_SIDE },
  { label: 'quality −5 pts', candidate: { ...HEALTHY_SIDE, quality: HEALTHY_SIDE.quality - 0.05 } },
  { label: 'errors +2 pts', candidate: { ...HEALTHY_SIDE, errorRate: HEALTHY_SIDE.errorRate + 0.02 } },
  { label: 'latency median +30 %', candidate: { ...HEALTHY_SIDE, medianMs: HEALTHY_SIDE.medianMs * 1.3 } },
];

function split(t: Traffic, stage: number): { baseline: number; candidate: number } {
  return t.ramp ? splitOf(2 * t.perSide, RAMP[stage]) : { baseline: t.perSide, candidate: t.perSide };
}

function oldKpis(s: SideEvidence): LiveSideKpis {
  return {
    samples: s.requests,
    errorRate: s.requests > 0 ? s.errors / s.requests : null,
    // The window's p95 from its histogram (log-interpolated; within ~2 % of the raw p95).
    p95Ms: quantile(s.latency, 0.95),
    qualityProxy: s.qualityN > 0 ? s.qualityHits / s.qualityN : null,
  };
}

interface Outcome {
  /** Check (1-based, whole bakeoff) of the rollback; null: never rolled back. */
  rolledBackAt: number | null;
  /** Times the bakeoff stopped for an operator. */
  operatorAsks: number;
}

function simulate(t: Traffic, sc: Scenario, th: LiveThresholds, seed: number): { fresh: Outcome; old: Outcome } {
  const sim = new TrafficSim(seed);
  const fresh: Outcome = { rolledBackAt: null, operatorAsks: 0 };
  const old: Outcome = { rolledBackAt: null, operatorAsks: 0 };
  let state = initialJudgeState();
  let oldInconclusive = 0;
  let check = 0;
  for (let stage = 0; stage < RAMP.length; stage++) {
    state = startStage(state, stage);
    const n = split(t, stage);
    for (let c = 0; c < CHECKS_PER_STAGE; c++) {
      check++;
      if (fresh.rolledBackAt !== null && old.rolledBackAt !== null) return { fresh, old };
      const w = sim.window(HEALTHY_SIDE, sc.candidate, n.baseline, n.candidate);
      if (fresh.rolledBackAt === null) {
        const r = judgeCheck(state, w, { thresholds: th, stages: RAMP.length, stageEnd: c === CHECKS_PER_STAGE - 1, percent: t.ramp ? RAMP[stage] : 50 });
        state = r.state;
        if (r.decision.action === 'rollback') fresh.rolledBackAt = check;
        if (r.decision.action === 'ask-operator') fresh.operatorAsks++;
      }
      if (old.rolledBackAt === null) {
        const gates = judgeLive(oldKpis(w.baseline), oldKpis(w.candidate), th);
        if (gates.some((g) => g.verdict === 'fail')) old.rolledBackAt = check; // failureLimit 1
        else if (gates.some((g) => g.verdict === 'inconclusive')) {
          if (++oldInconclusive >= th.inconclusiveLimit) {
            old.operatorAsks++; // approved by the simulated operator; the soak goes on
            oldInconclusive = 0;
          }
        } else oldInconclusive = 0;
      }
    }
  }
  return { fresh, old };
}

/** Power of one fixed-horizon one-sided z-test at level alpha after WITHIN checks of stage 1. */
function oracle(t: Traffic, sc: Scenario, th: LiveThresholds): number | null {
  const n = split(t, 0);
  const nc = WITHIN * n.candidate;
  const nb = WITHIN * n.baseline;
  const b = HEALTHY_SIDE;
  const c = sc.candidate;
  const z = criticalZ(th.alpha);
  const power = (pc: number, pb: number, mc: number, mb: number, harm: number, tol: number) =>
    normalCdf((harm - tol) / Math.sqrt((pc * (1 - pc)) / mc + (pb * (1 - pb)) / mb) - z);
  if (c.quality !== b.quality) {
    const mc = nc * (1 - c.errorRate);
    const mb = nb * (1 - b.errorRate);
    return power(c.quality, b.quality, mc, mb, b.quality - c.quality, th.maxQualityDropPts / 100);
  }
  if (c.errorRate !== b.errorRate) return power(c.errorRate, b.errorRate, nc, nb, c.errorRate - b.errorRate, th.maxErrorRateIncreasePts / 100);
  if (c.medianMs !== b.medianMs) {
    // The log-mean gate's harm ln(median ratio) against its tolerance, true σ on both sides.
    const tol = Math.max(Math.log(1 + th.maxP95IncreasePct / 100), Math.log(1 + th.p95MinIncreaseMs / b.medianMs));
    return normalCdf((Math.log(c.medianMs / b.medianMs) - tol) / Math.sqrt((c.sigma ** 2) / nc + (b.sigma ** 2) / nb) - z);
  }
  return null;
}

interface Row {
  traffic: string;
  scenario: string;
  healthy: boolean;
  fresh: Summary;
  old: Summary;
  oracle: number | null;
}

interface Summary {
  rolledBack: number;
  within: number;
  medianChecks: number | null;
  asksPerBakeoff: number;
}

function summarize(xs: Outcome[]): Summary {
  const at = xs.map((x) => x.rolledBackAt ?? Infinity).sort((a, b) => a - b);
  const mid = at[Math.floor((at.length - 1) / 2)];
  return {
    rolledBack: xs.filter((x) => x.rolledBackAt !== null).length / xs.length,
    within: xs.filter((x) => x.rolledBackAt !== null && x.rolledBackAt <= WITHIN).length / xs.length,
    medianChecks: Number.isFinite(mid) ? mid : null,
    asksPerBakeoff: xs.reduce((a, x) => a + x.operatorAsks, 0) / xs.length,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(x > 0 && x < 0.001 ? 3 : 1)} %`;

function cells(s: Summary, healthy: boolean): string[] {
  const med = s.medianChecks === null ? 'never (< 50 %)' : String(s.medianChecks);
  return healthy ? [pct(s.rolledBack), '—', '—', s.asksPerBakeoff.toFixed(2)] : [pct(s.rolledBack), pct(s.within), med, s.asksPerBakeoff.toFixed(2)];
}

interface RuleOutcome {
  rolledBackAt: number | null;
  /** Requests per side (candidate) pooled in the stage when live:latency was first 'pass'; null: never in stage 1. */
  provenAtRequests: number | null;
}

/** One bakeoff through the new judge with the given latency rule (live:latency is the only gate that can fire differently). */
function simulateRule(t: Traffic, candidate: SideModel, th: LiveThresholds, rule: LatencyRule, seed: number): RuleOutcome {
  const sim = new TrafficSim(seed);
  let state = initialJudgeState({ latencyRule: rule });
  let check = 0;
  let provenAtRequests: number | null = null;
  for (let stage = 0; stage < RAMP.length; stage++) {
    state = startStage(state, stage);
    const n = split(t, stage);
    for (let c = 0; c < CHECKS_PER_STAGE; c++) {
      check++;
      const w = sim.window(HEALTHY_SIDE, candidate, n.baseline, n.candidate);
      const r = judgeCheck(state, w, { thresholds: th, stages: RAMP.length, stageEnd: c === CHECKS_PER_STAGE - 1, percent: t.ramp ? RAMP[stage] : 50 });
      state = r.state;
      if (stage === 0 && provenAtRequests === null && r.decision.gates.find((g) => g.name === 'live:latency')?.verdict === 'pass') {
        provenAtRequests = state.stage.candidate.requests;
      }
      if (r.decision.action === 'rollback') return { rolledBackAt: check, provenAtRequests };
      // The healthy rows only need stage 1 for "requests to prove"; the false-rollback count needs the whole bakeoff.
    }
  }
  return { rolledBackAt: null, provenAtRequests };
}

function latencyRules(bakeoffs: number, seed: number): void {
  const th = LiveThresholdsSchema.parse({});
  const t0 = performance.now();
  const rules: LatencyRule[] = ['p95-share', 'log-mean'];
  const slow = { ...HEALTHY_SIDE, medianMs: HEALTHY_SIDE.medianMs * 1.3 };
  const lines: string[] = [];
  // --rows 0,2: only these traffic rows (indexes into TRAFFIC); default all.
  const rowsArg = process.argv.indexOf('--rows');
  const rows = rowsArg > 0 ? process.argv[rowsArg + 1].split(',').map(Number) : TRAFFIC.map((_, i) => i);
  TRAFFIC.forEach((t, ti) => {
    if (!rows.includes(ti)) return;
    for (const rule of rules) {
      const healthy: RuleOutcome[] = [];
      const bad: RuleOutcome[] = [];
      for (let b = 0; b < bakeoffs; b++) {
        healthy.push(simulateRule(t, HEALTHY_SIDE, th, rule, seed * 1_000_003 + ti * 100_003 + b));
        bad.push(simulateRule(t, slow, th, rule, seed * 1_000_003 + ti * 100_003 + 50_000 + b));
      }
      const falseRb = healthy.filter((x) => x.rolledBackAt !== null).length;
      const within = (k: number) => bad.filter((x) => x.rolledBackAt !== null && x.rolledBackAt <= k).length / bakeoffs;
      const proven = healthy.map((x) => x.provenAtRequests ?? Infinity).sort((a, b) => a - b);
      const med = proven[Math.floor((proven.length - 1) / 2)];
      const provenShare = healthy.filter((x) => x.provenAtRequests !== null).length / bakeoffs;
      const line = `| ${t.label} | ${rule} | ${falseRb} of ${bakeoffs} | ${pct(within(WITHIN))} | ${pct(within(24))} | ${pct(bad.filter((x) => x.rolledBackAt !== null).length / bakeoffs)} | ${Number.isFinite(med) ? String(med) : `not in stage 1 (${pct(provenShare)} proven)`} |`;
      lines.push(line);
      process.stderr.write(`${line} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
  });
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  console.log(`Latency rules of the live judge: ${bakeoffs} simulated default bakeoffs per cell, seed ${seed}; lognormal latency median 40 ms, σ 0.6; ×1.3 = median 52 ms.`);
  console.log(`alpha ${th.alpha}, minSamples ${th.minSamples}, p95 +${th.maxP95IncreasePct} % (≥ +${th.p95MinIncreaseMs} ms); the log-mean tolerance is ln(1.${th.maxP95IncreasePct}).`);
  console.log(`Machine: ${os.cpus().length} cores, load average ${load} at the end; ${new Date().toISOString().slice(0, 10)}; ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
  console.log('');
  console.log('| traffic per window | latency rule | identical candidate rolled back | ×1.3 rolled back within 6 checks | within 24 checks | ever | candidate requests pooled when an identical candidate is proven (median, stage 1) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const l of lines) console.log(l);
}

interface MidScenario {
  label: string;
  bad: SideModel;
}

const MID_SCENARIOS: MidScenario[] = [
  { label: 'latency ×2 (median 80 ms)', bad: { ...HEALTHY_SIDE, medianMs: HEALTHY_SIDE.medianMs * 2 } },
  { label: 'latency median +30 %', bad: { ...HEALTHY_SIDE, medianMs: HEALTHY_SIDE.medianMs * 1.3 } },
  { label: 'errors +2 pts', bad: { ...HEALTHY_SIDE, errorRate: HEALTHY_SIDE.errorRate + 0.02 } },
  { label: 'quality −5 pts', bad: { ...HEALTHY_SIDE, quality: HEALTHY_SIDE.quality - 0.05 } },
];

/** Stage 2 at 50 % (equal sides), healthy until check `onset`, then `bad`: checks from onset to each judge's rollback. */
function simulateMidStage(perSide: number, bad: SideModel, onset: number, th: LiveThresholds, seed: number): { before: number | null; after: number | null } {
  const sim = new TrafficSim(seed);
  // Stage 1 is left out: at 50 % only the stage's own evidence is judged (the bakeoff pool is unused).
  let before: LiveJudgeState = startStage(initialJudgeState({ recentWindow: false, earlyLook: false }), 1);
  let after: LiveJudgeState = startStage(initialJudgeState({ recentWindow: true }), 1);
  const out: { before: number | null; after: number | null } = { before: null, after: null };
  for (let c = 0; c < CHECKS_PER_STAGE && (out.before === null || out.after === null); c++) {
    const w = sim.window(HEALTHY_SIDE, c >= onset ? bad : HEALTHY_SIDE, perSide, perSide);
    const o = { thresholds: th, stages: RAMP.length, stageEnd: c === CHECKS_PER_STAGE - 1, percent: 50 };
    if (out.before === null) {
      const r = judgeCheck(before, w, o);
      before = r.state;
      if (r.decision.action === 'rollback') out.before = c - onset + 1;
    }
    if (out.after === null) {
      const r = judgeCheck(after, w, o);
      after = r.state;
      if (r.decision.action === 'rollback') out.after = c - onset + 1;
    }
  }
  return out;
}

function midStage(bakeoffs: number, seed: number): void {
  const th = LiveThresholdsSchema.parse({});
  const t0 = performance.now();
  const lines: string[] = [];
  const fmt = (xs: (number | null)[]) => {
    const at = xs.map((x) => x ?? Infinity).sort((a, b) => a - b);
    const q = (p: number) => at[Math.min(at.length - 1, Math.floor(p * (at.length - 1)))];
    const show = (x: number) => (Number.isFinite(x) ? String(x) : 'never');
    const early = (x: number | null) => x !== null && x <= 0;
    const within = (k: number) => pct(xs.filter((x) => x !== null && x > 0 && x <= k).length / xs.length);
    return [show(q(0.5)), show(q(0.95)), show(at[at.length - 1]), within(RECENT_BLOCK_CHECKS), String(xs.filter(early).length)];
  };
  for (const perSide of [200, 1000]) {
    MID_SCENARIOS.forEach((sc, si) => {
      const before: (number | null)[] = [];
      const after: (number | null)[] = [];
      for (let b = 0; b < bakeoffs; b++) {
        // Onset 4 h into the stage plus b mod 12 checks: every offset within a block equally often.
        const o = simulateMidStage(perSide, sc.bad, 48 + (b % RECENT_BLOCK_CHECKS), th, seed * 1_000_003 + (perSide + si) * 100_003 + b);
        before.push(o.before);
        after.push(o.after);
      }
      const fb = fmt(before);
      const fa = fmt(after);
      const line = `| ${perSide}/side | ${sc.label} | ${fb[0]} | ${fa[0]} | ${fb[1]} | ${fa[1]} | ${fb[2]} | ${fa[2]} | ${fb[3]} | ${fa[3]} | ${fb[4]} / ${fa[4]} |`;
      lines.push(line);
      process.stderr.write(`${line} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    });
  }
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  console.log(`Mid-stage regression: ${bakeoffs} simulated stage-2 soaks (50 %, ${CHECKS_PER_STAGE} checks of 5 min) per row, seed ${seed}; healthy for 4 h (48 checks) + 0..11 checks, then the candidate degrades.`);
  console.log(`BEFORE: the stage-pooled CS alone (alpha ${th.alpha} / 9 per gate-stage). AFTER: pooled CS at ${1 - RECENT_SHARE} of that + a recent-window CS on blocks of ${RECENT_BLOCK_CHECKS} checks at ${RECENT_SHARE}·/(j(j+1)) for block j. Same windows for both.`);
  console.log(`Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${load} at the end; ${new Date().toISOString().slice(0, 10)}; ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
  console.log('');
  console.log('| traffic per window | regression after 4 h | BEFORE median checks to rollback | AFTER median | BEFORE p95 | AFTER p95 | BEFORE max | AFTER max | BEFORE within 12 checks (1 h) | AFTER within 12 checks | rolled back before the onset (BEFORE / AFTER) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const l of lines) console.log(l);
}

function main(): void {
  if (process.argv.includes('--latency-rules')) return latencyRules(arg('bakeoffs', 2000), arg('seed', 1));
  if (process.argv.includes('--mid-stage')) return midStage(arg('bakeoffs', 500), arg('seed', 1));
  const scArg = process.argv.indexOf('--scenarios');
  const only = scArg > 0 ? process.argv[scArg + 1].split(',').map(Number) : SCENARIOS.map((_, i) => i);
  const bakeoffs = arg('bakeoffs', 2000);
  const seed = arg('seed', 1);
  const th = LiveThresholdsSchema.parse({});
  const t0 = performance.now();
  const rows: Row[] = [];
  TRAFFIC.forEach((t, ti) =>
    SCENARIOS.forEach((sc, si) => {
      if (!only.includes(si)) return;
      const r0 = performance.now();
      const fresh: Outcome[] = [];
      const old: Outcome[] = [];
      for (let b = 0; b < bakeoffs; b++) {
        const o = simulate(t, sc, th, seed * 1_000_003 + (ti * 16 + si) * 100_003 + b);
        fresh.push(o.fresh);
        old.push(o.old);
      }
      const row: Row = { traffic: t.label, scenario: sc.label, healthy: si === 0, fresh: summarize(fresh), old: summarize(old), oracle: oracle(t, sc, th) };
      rows.push(row);
      process.stderr.write(`${t.label} / ${sc.label}: new ${JSON.stringify(row.fresh)} old ${JSON.stringify(row.old)} (${((performance.now() - r0) / 1000).toFixed(1)} s)\n`);
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  console.log(`Live judge bench: ${bakeoffs} simulated default bakeoffs per row (3 stages × ${CHECKS_PER_STAGE} checks of 5 min), seed ${seed}.`);
  const perStage = th.alpha / RAMP.length;
  const gates = Object.entries(GATE_WEIGHTS).map(([g, w]) => `${g.replace('live:', '')} ${(perStage * w).toPrecision(3)}`).join(', ');
  console.log(`alpha ${th.alpha} over ${RAMP.length} stages, per gate and stage: ${gates}; latency's split ${EARLY_SHARE} early look (one z-test at ${PLANNED_CHECKS}·minSamples/2 request pairs), ${RECENT_SHARE} recent-window blocks of ${RECENT_BLOCK_CHECKS} checks (from the 2nd), ${(1 - EARLY_SHARE - RECENT_SHARE).toFixed(1)} stage-pooled CS; the rate gates' ${RECENT_SHARE} recent, ${(1 - RECENT_SHARE).toFixed(1)} pooled; minSamples ${th.minSamples}, tolerances: errors +${th.maxErrorRateIncreasePts} pts, quality −${th.maxQualityDropPts} pts, latency +${th.maxP95IncreasePct} % (≥ +${th.p95MinIncreaseMs} ms).`);
  console.log(`Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${load} at the end; ${new Date().toISOString().slice(0, 10)}; ${secs.toFixed(0)} s.`);
  console.log('');
  console.log('| traffic per window | candidate | NEW rolled back | NEW within 6 checks | NEW median checks to rollback | NEW operator stops / bakeoff | OLD rolled back | OLD within 6 checks | OLD median checks | OLD operator stops / bakeoff | oracle: best test within 6 checks |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${[r.traffic, r.scenario, ...cells(r.fresh, r.healthy), ...cells(r.old, r.healthy), r.oracle === null ? '—' : pct(r.oracle)].join(' | ')} |`);
  }
}

main();
