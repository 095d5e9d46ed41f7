// Issue 11's end-to-end "Done when", run by default (short mode, ~4 min): real Temporal dev server,
// real PostgreSQL, a real worker process (real workflow bundle and activities: it ingests the
// candidate into its own table and builds its FAISS index), the real retrieval service routing by the
// lane's pointer, and the real replayer sending varied FAQ questions through a compressed 50/100 %
// ramp judged by the anytime-valid live judge. It proves, on any machine load:
//  - a healthy candidate, whose service side is first loaded at its first split (index and row caches
//    cold) while the baseline has served for a minute, is promoted with no operator stop in the canary:
//    both stage ends PROVE non-breach, the 100 % stage on mirrored pairs (never an older baseline);
//  - the same candidate with the ×1.3 drill (src/serve/latency-penalty.ts) is rolled back by
//    live:latency in the 50 % stage, against the concurrent baseline, with no operator stop.
// Stated distributions (test/e2e/live-judge-e2e-plan.ts): both sides wait on a simulated backend,
// LogNormal(median 40 ms, σ 0.25), after every search that runs, served or mirrored; the in-process
// search adds ~5 ms on a quiet machine. The drill multiplies the candidate's whole latency, backend
// included, so its shift is +30 % in the gate's own unit (ratio of geometric means), the limit +20 %,
// and the +2 ms floor (+4.4 % at ~45 ms) cannot decide. Before the backend (6e2ac59..572d1c1), a quiet
// machine answered in ~5 ms: the floor made the limit +40 % and the ×1.3 candidate was rightly
// promoted; only a loaded machine (~500 ms) made the drill fail. live-judge-e2e-plan.test.ts checks
// the sizing by seeded simulation of the same judge (stage length, rate, σ, thresholds). A loaded
// machine widens the searches' spread and slows them: before each bakeoff the test measures the
// baseline's served σ of ln(ms) and rate, and stretches the stages (≤ ×4) by the evidence it lacks
// (stageStretch), so the stages carry the evidence the simulation assumed; quiet: 60 s + 120 s.
// The tiny 6-case world leaves the OFFLINE verdict inconclusive (as in the chaos suites), so an
// operator approval before the canary is expected and counted apart from canary stops.
// Each check is labelled with the stage whose evidence it judged (status live.lastStage): the stage
// end's check is often first seen after the next stage started. BAKEOFF_FULL=1 runs 3-minute stages.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startBakeoff } from '../../src/client/bakeoff';
import { loadDataset } from '../../src/data/dataset';
import { readLiveEvidence } from '../../src/store/live-kpis';
import { readPointer } from '../../src/store/pointer';
import { logMoments } from '../../src/workflows/latency-histogram';
import { startServing, type RunningService } from '../../src/serve/app';
import type { LatencyPenalty } from '../../src/serve/latency-penalty';
import { replayTraffic, type TrafficReport } from '../../src/serve/traffic';
import type { bakeoff } from '../../src/workflows/bakeoff';
import { statusQuery, type BakeoffInputRaw } from '../../src/workflows/messages';
import { isTerminal, type BakeoffResult, type BakeoffStatus, type Gate } from '../../src/workflows/types';
import { chaosInput } from '../chaos/chaos-input';
import { createWorld, type World } from '../chaos/world';
import { WorkerProcess } from '../support/worker-process';
import { BACKEND, CHECK_INTERVAL_S, DRILL, FULL_RAMP, LIVE, MIRROR_PER_SECOND, MIRROR_SLOTS, RATE_PER_SECOND, SHORT_RAMP, stageSeconds, stageStretch } from './live-judge-e2e-plan';

const TEMPORAL = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS!;
const PG = process.env.BAKEOFF_TEST_PG_URL!;

/**
 * The service runs with no answer cache and no query-embedding cache (see runBakeoff), so EVERY
 * request searches and is judged. Open loop in 4-s bursts; up to 64 requests in flight (a request
 * holds a slot for its backend wait, ~45 ms, so ~2 are in flight at 40/s on a quiet machine).
 */
const BURST_MS = 4_000;
const FULL = process.env.BAKEOFF_FULL === '1';
/** The ramp of one run: short mode stretches its stages on a loaded machine (stageStretch). */
const rampOf = (stretch: number) => {
  const ramp = FULL ? FULL_RAMP : SHORT_RAMP;
  const seconds = stageSeconds(ramp, stretch);
  return ramp.map((s, i) => ({ percent: s.percent, soak: `${seconds[i]}s` }));
};
const STAGES = SHORT_RAMP.length;
/** Calibration: the baseline's served requests of this span (after the first 2 s) before the bakeoff starts. */
const CALIBRATE_MS = 8_000;
/** Short mode stretched (load ~22 on 2 cores) runs a healthy bakeoff in ~7.5 min; a quiet one in ~3. */
const TEST_MS = FULL ? 900_000 : 720_000;
const CHECK_INTERVAL = `${CHECK_INTERVAL_S}s`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let world: World;
let connection: Connection;
let client: Client;
let worker: WorkerProcess;
let questions: string[];
const taskQueue = `e2e-judge-${Date.now()}`;
const logLines: string[] = [];
const say = (line: string) => logLines.push(`${new Date().toISOString()} ${line}`);

beforeAll(async () => {
  world = await createWorld({ serverUrl: PG, name: 'e2e_judge' });
  connection = await Connection.connect({ address: TEMPORAL });
  client = new Client({ connection });
  // Every question of the FAQ set, not only the world's 6 labelled cases: most requests really search.
  questions = [...new Set((await loadDataset()).cases.map((c) => c.question))];
  worker = await WorkerProcess.start({
    temporalAddress: TEMPORAL, taskQueue, databaseUrl: world.databaseUrl, stateDir: world.stateDir,
    subsetCases: world.dataset.cases.length, bundlePath: world.bundlePath, logFile: path.join(world.logDir, 'e2e-worker.log'),
  });
}, 240_000);

afterAll(async () => {
  await worker?.stop().catch(() => undefined);
  await connection?.close().catch(() => undefined);
  if (world) fs.writeFileSync(path.join(world.logDir, 'e2e-judge.log'), logLines.join('\n') + '\n');
  await world?.close();
});

interface Observed {
  result: BakeoffResult;
  traffic: TrafficReport[];
  /** Every awaiting-operator seen while polling: where, and why. */
  operatorStops: { stage: number | null; reason: string }[];
  /** The gates of every check, in order: the stage whose evidence it judged (live.lastStage), check number. */
  checks: { stage: number | null; check: number; verdict: string; gates: Gate[] }[];
  sidesAtStart: number;
  seconds: number;
  /** The calibration: σ of ln(ms) and requests/s the baseline served, and the stretch they gave. */
  calibration: { logSigma: number; geoMeanMs: number; perSecond: number; stretch: number };
  ramp: { percent: number; soak: string }[];
}

/** Sends traffic in short open-loop bursts until stopped (replayTraffic runs to a count or duration). */
function trafficUntil(label: string, url: string, stop: () => boolean, out: TrafficReport[]): Promise<void> {
  return (async () => {
    for (let burst = 1; !stop(); burst++) {
      const r = await replayTraffic({
        url, questions, ratePerSecond: RATE_PER_SECOND, maxRequests: Math.round((RATE_PER_SECOND * BURST_MS) / 1000), maxDurationMs: BURST_MS, users: 1000, seed: burst, concurrency: 64,
      });
      out.push(r);
      // Per burst, so a log shows whether a slow check was the whole service (load) or one side.
      say(`${label}: burst ${burst} baseline ${r.bySide.baseline} candidate ${r.bySide.candidate}, ${r.achievedRps.toFixed(0)} req/s, client p50 ${r.latencyMs.p50.toFixed(0)} ms p95 ${r.latencyMs.p95.toFixed(0)} ms, dropped ${r.dropped}`);
    }
  })();
}

async function runBakeoff(name: string, chunkVersion: string, penalty?: LatencyPenalty): Promise<Observed> {
  const t0 = Date.now();
  const lane = `e2e_${name}`;
  await world.lane(lane);
  const svc: RunningService = await startServing({
    db: world.db, lane, tau: 0.5, indexDir: path.join(world.stateDir, 'indexes'), loadEmbedder: async () => world.embedder,
    defaultMetrics: false, pollMs: 200, kpiWindowMs: 1000, mirrorPerSecond: MIRROR_PER_SECOND, mirrorConcurrency: MIRROR_SLOTS,
    // Drill/test knobs: the stated backend on both sides, and the candidate's penalty if any.
    backendLatency: BACKEND, candidatePenalty: penalty,
    // No answer cache (results 0): the measured path is a real search on both sides, so every request
    // is judged. No query-embedding cache either: the baseline's would be warm from minutes of traffic
    // and the candidate's empty. The row cache and the index stay per side: the candidate's start cold
    // at its first split.
    caches: { embedding: 0, results: 0 },
  });
  // Only the baseline's side is loaded: the candidate's side (its answer, row and index caches) starts at its first split.
  const sidesAtStart = svc.watcher.status().cachedSides.length;
  // Traffic starts with the service: the baseline (and this process: JIT, the embedder) serves and
  // warms through calibration, ingest and the offline gates, as a production baseline would have; the
  // candidate's side is loaded only at its first split.
  const traffic: TrafficReport[] = [];
  let stopTraffic = false;
  const sending = trafficUntil(name, svc.url, () => stopTraffic, traffic);
  const calibration = await calibrate(lane, Date.now());
  say(`${name}: calibration: baseline geometric mean ${calibration.geoMeanMs.toFixed(1)} ms, σ of ln(ms) ${calibration.logSigma.toFixed(3)}, ${calibration.perSecond.toFixed(1)} req/s → stages ×${calibration.stretch.toFixed(2)}`);
  const ramp = rampOf(calibration.stretch);
  const input: BakeoffInputRaw = { ...chaosInput(world, { lane, chunkVersion, ramp, checkInterval: CHECK_INTERVAL }), requestedBy: 'e2e' };
  (input.thresholds as { live: unknown }).live = LIVE;
  const handle: WorkflowHandle<typeof bakeoff> = await startBakeoff(client, input, { taskQueue, workflowId: `e2e-judge-${name}-${Date.now()}` });
  const operatorStops: Observed['operatorStops'] = [];
  const checks: Observed['checks'] = [];
  let lastChecks = 0;
  let lastPhase = '';
  const approved = new Set<number>();
  try {
    const deadline = Date.now() + TEST_MS - 30_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`${name}: bakeoff did not finish; last phase ${lastPhase}`);
      // Say so at once, not at the deadline (a run lost its worker to an outside SIGKILL mid-ingest).
      if (!worker.alive) throw new Error(`${name}: the worker process ${worker.pid} exited ${JSON.stringify(await worker.exited)} in phase ${lastPhase}`);
      let st: BakeoffStatus;
      try {
        st = await connection.withDeadline(Date.now() + 3_000, () => handle.query(statusQuery));
      } catch {
        await sleep(250);
        continue;
      }
      const where = `${st.phase}${st.stage ? ` stage ${st.stage.index + 1}` : ''}`;
      if (where !== lastPhase) say(`${name}: ${where}`);
      lastPhase = where;
      if (st.live.checks > lastChecks) {
        lastChecks = st.live.checks;
        const judged = st.live.lastStage ?? null;
        checks.push({ stage: judged, check: st.live.checks, verdict: st.live.lastVerdict ?? '?', gates: st.live.lastGates ?? [] });
        say(`${name}: check ${st.live.checks} of stage ${judged === null ? '?' : judged + 1} (now ${where}) ${st.live.lastVerdict}: ${(st.live.lastGates ?? []).map((g) => `${g.name} ${g.verdict} — ${g.reason}`).join(' | ')}`);
      }
      if (st.phase === 'awaiting-operator' && st.awaiting && !approved.has(st.awaiting.since)) {
        approved.add(st.awaiting.since);
        operatorStops.push({ stage: st.stage?.index ?? null, reason: st.awaiting.reason });
        say(`${name}: AWAITING OPERATOR (${where}): ${st.awaiting.reason}`);
        // Approve so the run ends and the test reports every stop, not a timeout.
        await handle.signal('approve', { by: 'e2e-operator', reason: 'recorded by the e2e test' });
      }
      if (isTerminal(st.phase)) break;
      await sleep(250);
    }
    const result = await handle.result();
    say(`${name}: ${result.outcome} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return { result, traffic, operatorStops, checks, sidesAtStart, seconds: (Date.now() - t0) / 1000, calibration, ramp };
  } finally {
    stopTraffic = true;
    await sending;
    await svc.close();
    const sent = traffic.reduce((a, t) => a + t.sent, 0);
    say(`${name}: traffic ${sent} requests in ${traffic.length} bursts, baseline ${traffic.reduce((a, t) => a + t.bySide.baseline, 0)}, candidate ${traffic.reduce((a, t) => a + t.bySide.candidate, 0)}, failed ${traffic.reduce((a, t) => a + t.failed, 0)}, dropped ${traffic.reduce((a, t) => a + t.dropped, 0)}`);
  }
}

/**
 * The machine's speed now, measured where the judge measures it: the baseline's served latencies
 * (live_kpis histograms) over CALIBRATE_MS of the test's own traffic, the first 2 s left out (a new
 * service's first requests). Sizes the stages (stageStretch) so their evidence is what the plan's
 * simulation assumed.
 */
async function calibrate(lane: string, startedAt: number): Promise<Observed['calibration']> {
  const from = startedAt + 2_000;
  const to = from + CALIBRATE_MS;
  await sleep(to - Date.now() + 2_500); // the recorder flushes 1-s windows
  const m = logMoments((await readLiveEvidence(world.db, lane, from, to)).baseline.latency);
  if (!m || m.n < 20) throw new Error(`calibration: only ${m?.n ?? 0} baseline requests in ${CALIBRATE_MS} ms`);
  const measured = { logSigma: Math.sqrt(m.variance), perSecond: m.n / (CALIBRATE_MS / 1000) };
  return { ...measured, geoMeanMs: Math.exp(m.mean), stretch: stageStretch(measured) };
}

async function mirrorCleared(lane: string): Promise<boolean> {
  const p = (await readPointer(world.db, lane))!;
  return p.mirrorTable === null && p.mirrorPercent === 0;
}

/** Stops during the canary ramp (an offline-gate approval happens before the ramp, stage null). */
const canaryStops = (o: Observed) => o.operatorStops.filter((s) => s.stage !== null || /stage \d/.test(s.reason));
const lastCheckOf = (o: Observed, stage: number) => [...o.checks].reverse().find((c) => c.stage === stage);
/** The latency gate's shift and interval as its reason states them ("shift +29.8 % (CS +22.1 %..+38.0 %"). */
const shiftOf = (reason: string) => /shift (\S+ %) \(CS (\S+ %\.\.\S+ %)/.exec(reason)?.slice(1).join(', CS ') ?? reason;
const latencyGate = (gates: Gate[]) => gates.find((g) => g.name === 'live:latency');

test('a healthy candidate with cold caches is promoted through 50/100 % with no operator stop in the canary', async () => {
  const o = await runBakeoff('healthy', 'v450_e2eok');
  const st = o.result.status;
  process.stdout.write(`[e2e healthy] ${logLines.filter((l) => l.includes('healthy') && !l.includes('burst')).join('\n')}\n`);
  process.stdout.write(`[e2e healthy] calibration geometric mean ${o.calibration.geoMeanMs.toFixed(1)} ms, σ ${o.calibration.logSigma.toFixed(3)}, ${o.calibration.perSecond.toFixed(1)} req/s → ramp ${o.ramp.map((r) => `${r.percent} % ${r.soak}`).join(', ')}\n`);
  for (let stage = 0; stage < STAGES; stage++) {
    const last = lastCheckOf(o, stage);
    process.stdout.write(`[e2e healthy] stage ${stage + 1} last check ${last?.verdict}: latency ${shiftOf(latencyGate(last?.gates ?? [])?.reason ?? 'none')}\n`);
  }
  process.stdout.write(`[e2e healthy] ${o.result.outcome} in ${o.seconds.toFixed(1)} s\n`);
  expect(o.sidesAtStart).toBe(1);
  // The stated backend really sits in the served path: no search is faster than it, on a quiet machine or not.
  expect(o.calibration.geoMeanMs).toBeGreaterThan(BACKEND.medianMs * 0.9);
  expect(latencyGate(lastCheckOf(o, 0)!.gates)!.value).toBeGreaterThan(BACKEND.medianMs * 0.9);
  expect(st.rollback?.reason ?? null).toBeNull(); // a false rollback shows its reason here
  expect(o.result.outcome).toBe('promoted');
  expect(canaryStops(o)).toEqual([]);
  // No awaiting-operator during the ramp in the status events either (the polled stops could miss a short one).
  expect(st.events.filter((e) => e.kind === 'phase' && /awaiting-operator/.test(e.message) && /stage \d/.test(e.message))).toEqual([]);
  // Each stage's end was judged and advanced on proof.
  const ends = st.events.filter((e) => e.kind === 'live-check' && / end: /.test(e.message));
  for (let stage = 1; stage <= STAGES; stage++) expect(ends.some((e) => e.message.startsWith(`stage ${stage} end`) && /→ advance/.test(e.message))).toBe(true);
  // Stage 1's last check judged stage-1 evidence (50 %: no mirrored pairs), even when first seen in stage 2.
  const end1 = lastCheckOf(o, 0)!;
  expect(end1.verdict).toBe('pass');
  for (const g of end1.gates) expect(g.reason).not.toMatch(/mirrored requests/);
  // Every check of the 100 % stage read mirrored pairs, none the bakeoff-wide baseline; its last proved non-breach.
  const at100 = o.checks.filter((c) => c.stage === STAGES - 1 && c.gates.length > 0);
  expect(at100.length).toBeGreaterThan(0);
  for (const c of at100) for (const g of c.gates) expect(g.reason).toMatch(/mirrored requests \(both sides answered off the response path, concurrent baseline\)$/);
  expect(at100[at100.length - 1].verdict).toBe('pass');
  expect(await mirrorCleared('e2e_healthy')).toBe(true);
  // The lane serves the candidate.
  const pointer = (await readPointer(world.db, `e2e_healthy`))!;
  expect(pointer.liveTable).toBe(st.shadowTable);
  expect(pointer.canaryPercent).toBe(0);
  expect(o.traffic.reduce((a, t) => a + t.failed, 0)).toBe(0);
}, TEST_MS);

test(`the same candidate ×${DRILL.factor} slower (service drill) is rolled back by live:latency in the 50 % stage, pointer back on the baseline`, async () => {
  const o = await runBakeoff('slow', 'v450_e2eslow', DRILL);
  const st = o.result.status;
  process.stdout.write(`[e2e slow] ${logLines.filter((l) => l.includes('slow') && !l.includes('burst')).join('\n')}\n`);
  process.stdout.write(`[e2e slow] calibration geometric mean ${o.calibration.geoMeanMs.toFixed(1)} ms, σ ${o.calibration.logSigma.toFixed(3)}, ${o.calibration.perSecond.toFixed(1)} req/s → ramp ${o.ramp.map((r) => `${r.percent} % ${r.soak}`).join(', ')}\n`);
  process.stdout.write(`[e2e slow] ${o.result.outcome} in ${o.seconds.toFixed(1)} s: latency ${shiftOf(st.rollback?.reason ?? 'no rollback')}\n`);
  expect(canaryStops(o)).toEqual([]);
  expect(o.result.outcome).toBe('rolled-back');
  expect(st.rollback).toMatchObject({ by: 'bakeoff', automatic: true });
  expect(st.rollback!.reason).toMatch(/^live gate live:latency breached in stage 1 \(50%\)/);
  // Judged against the concurrent baseline, not one pooled from an earlier stage.
  expect(st.rollback!.reason).not.toMatch(/baseline pooled over the whole bakeoff/);
  expect(await mirrorCleared('e2e_slow')).toBe(true);
  const pointer = (await readPointer(world.db, 'e2e_slow'))!;
  expect(pointer.liveTable).toBe(world.baseline.table);
  expect(pointer.candidateTable).toBeNull();
  expect(pointer.canaryPercent).toBe(0);
}, TEST_MS);
