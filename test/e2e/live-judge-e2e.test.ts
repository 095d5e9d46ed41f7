// Issue 11's end-to-end "Done when": real Temporal dev server, real PostgreSQL, a real worker process
// (real workflow bundle and activities: it ingests the candidate into its own table and builds its
// FAISS index), the real retrieval service routing by the lane's pointer, and the real replayer
// sending varied FAQ questions through a compressed 50/100 % ramp judged by the anytime-valid live
// judge. A healthy candidate, whose service side is first loaded at its first split (its index and row
// caches cold) while the baseline has already served traffic, is promoted; the same candidate with the
// service's 30 % latency drill penalty is rolled back automatically by live:latency. Neither waits for
// an operator during the canary. (The tiny 6-case world leaves the OFFLINE verdict inconclusive, as in
// the chaos suites, so an operator approval before the canary is expected and counted apart.)
//
// What made this pass (issue 11, after four failing runs recorded in git history, 6e2ac59):
//  - the latency gate is the log-mean test (patch 'log-latency-gate'): it uses every request, so a
//    stage of a few hundred candidate requests proves an identical candidate within +20 % (the
//    p95-share rule needed ~16,000 per side on this heavy-tailed latency);
//  - the 100 % stage is judged on mirrored pairs (patch 'full-stage-mirror'): the baseline answers the
//    same requests at the same moments, so a machine-wide stall slows both sides (the stage used to
//    borrow the baseline pooled from stage 1, and one healthy run was rolled back by a stall).
// Opt-in (BAKEOFF_E2E_LIVE_JUDGE=1; issue 11 stays open on it): its premise depends on the machine's
// load. At load average 20-30 (served geometric mean ~500 ms) it passed twice in short mode: the ×1.3
// candidate was rolled back and the healthy one promoted (an operator stop at a stage end allowed, 50 s
// stages cannot PROVE +20 % there). On a quiet machine (clean-clone CI, served geometric mean ~5 ms) the
// drill's shift measured +24.8 % while the limit is max(+20 %, the +2 ms floor) = +40 %: the gate
// rightly calls the ×1.3 candidate within tolerance and promotes it, so the test's slow case fails; and
// the check at the 50 → 100 % boundary is labelled with the new stage while judging stage-1 evidence.
// The next step is a drill whose effect is stated in the gate's own units for any service speed.
// BAKEOFF_FULL=1 runs 3-minute stages and demands no operator stop at all.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startBakeoff } from '../../src/client/bakeoff';
import { loadDataset } from '../../src/data/dataset';
import { readPointer } from '../../src/store/pointer';
import { startServing, type RunningService } from '../../src/serve/app';
import type { LatencyPenalty } from '../../src/serve/latency-penalty';
import { replayTraffic, type TrafficReport } from '../../src/serve/traffic';
import type { bakeoff } from '../../src/workflows/bakeoff';
import { statusQuery, type BakeoffInputRaw } from '../../src/workflows/messages';
import { isTerminal, type BakeoffResult, type BakeoffStatus, type Gate } from '../../src/workflows/types';
import { chaosInput } from '../chaos/chaos-input';
import { createWorld, type World } from '../chaos/world';
import { WorkerProcess } from '../support/worker-process';

const TEMPORAL = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS!;
const PG = process.env.BAKEOFF_TEST_PG_URL!;

/**
 * Offered load: 40 requests/s, open loop, over every FAQ question. The service runs with no answer
 * cache and no query-embedding cache (see runBakeoff), so EVERY request searches and is judged: the
 * replayer cycles a small question set, and with the answer cache on, the warm baseline answered
 * nearly everything from it (cached answers are rightly not judged) and a stage had too few judged
 * baseline requests to prove anything. 40/s is well under what a fresh service does on this 2-core
 * machine (~100/s) beside the worker, Temporal and PostgreSQL (60/s queued: baseline p95 90-130 ms),
 * so our own queueing does not make the tail.
 */
const RATE_PER_SECOND = 40;
const BURST_MS = 4_000;

/**
 * The compressed ramp: 50 % for 50 s, then 100 % for 50 s, a check every 5 s. At 40 judged req/s the
 * 50 % stage gives ~1000 requests per side (fewer when the machine is loaded: a 25 % stage left
 * ~200 candidate requests in a loaded run, too few to prove +20 %); the 100 % stage is judged on
 * mirrored pairs, as many as MIRROR_SLOTS searches in flight allow (~2-10 a second). Thresholds for samples that size:
 *  - minSamples 150 (default 200): it also tunes the mixture boundary (ρ) for n* = 3·minSamples = 450
 *    request pairs, about the effective sample of one stage here (production tunes it for 30-min stages);
 *  - maxQualityDropPts 20 (default 2): proving a 2-pt non-breach needs ~10k requests per side, and at a
 *    stage end the judge asks an operator unless non-breach is PROVEN;
 *  - maxErrorRateIncreasePts 5 (default 1): same reason, for a rate that is 0 on both sides;
 *  - maxP95IncreasePct 20 (default 15): the ×1.3 candidate is past the limit, a healthy one (same
 *    latency distribution once its caches warm) has fewer requests past it than at 15 %;
 *  - alpha 0.05 (default 0.01): the whole-bakeoff false-rollback budget, spent over 3 gates × 2 stages.
 */
const LIVE = { minSamples: 150, maxQualityDropPts: 20, maxErrorRateIncreasePts: 5, maxP95IncreasePct: 20, alpha: 0.05, failureLimit: 1 };
const FULL = process.env.BAKEOFF_FULL === '1';
/** Full mode (BAKEOFF_FULL=1): stages long enough to PROVE a healthy candidate on a loaded machine. */
const RAMP = FULL
  ? [
      { percent: 50, soak: '3m' },
      { percent: 100, soak: '3m' },
    ]
  : [
      { percent: 50, soak: '50s' },
      { percent: 100, soak: '50s' },
    ];
const TEST_MS = FULL ? 900_000 : 360_000;
const CHECK_INTERVAL = '5s';

/**
 * Mirror jobs at 100 % (the service defaults, 2 at once and 5 a second, are sized for hours-long
 * stages): each answers a request on both sides. At 100 % only the mirrored pairs are judged, so
 * their CPU cost slowing served requests does not bias the verdict.
 */
const MIRROR_PER_SECOND = 20;
const MIRROR_SLOTS = 4;

const enabled = process.env.BAKEOFF_E2E_LIVE_JUDGE === '1';
const e2eTest = enabled ? test : test.skip;

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
  if (!enabled) return;
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
  /** The gates of every check, in order, as the status showed them (stage index, check number). */
  checks: { stage: number | null; check: number; verdict: string; gates: Gate[] }[];
  sidesAtStart: number;
  seconds: number;
}

/** Sends traffic in short open-loop bursts until stopped (replayTraffic runs to a count or duration). */
function trafficUntil(label: string, url: string, stop: () => boolean, out: TrafficReport[]): Promise<void> {
  return (async () => {
    for (let burst = 1; !stop(); burst++) {
      const r = await replayTraffic({ url, questions, ratePerSecond: RATE_PER_SECOND, maxRequests: Math.round((RATE_PER_SECOND * BURST_MS) / 1000), maxDurationMs: BURST_MS, users: 1000, seed: burst });
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
    defaultMetrics: false, pollMs: 200, kpiWindowMs: 1000, candidatePenalty: penalty, mirrorPerSecond: MIRROR_PER_SECOND, mirrorConcurrency: MIRROR_SLOTS,
    // No answer cache (results 0): the measured path is a real search on both sides, so every request
    // is judged. No query-embedding cache either: it is per side now (caching-encoder.ts), but the
    // baseline's would be warm from minutes of traffic and the candidate's empty, a real but passing
    // cold-start difference this short ramp has no time to outlive. The row cache and the index stay
    // per side: the candidate's start cold at its first split.
    caches: { embedding: 0, results: 0 },
  });
  // Only the baseline's side is loaded: the candidate's side (its answer, row and index caches) starts at its first split.
  const sidesAtStart = svc.watcher.status().cachedSides.length;
  const input: BakeoffInputRaw = { ...chaosInput(world, { lane, chunkVersion, ramp: RAMP, checkInterval: CHECK_INTERVAL }), requestedBy: 'e2e' };
  (input.thresholds as { live: unknown }).live = LIVE;
  // Traffic starts with the service: the baseline (and this process: JIT, the embedder) serves and
  // warms through ingest and the offline gates, as a production baseline would have; the candidate's
  // side is loaded only at its first split.
  const traffic: TrafficReport[] = [];
  let stopTraffic = false;
  const sending = trafficUntil(name, svc.url, () => stopTraffic, traffic);
  const handle: WorkflowHandle<typeof bakeoff> = await startBakeoff(client, input, { taskQueue, workflowId: `e2e-judge-${name}-${Date.now()}` });
  const operatorStops: Observed['operatorStops'] = [];
  const checks: Observed['checks'] = [];
  let lastChecks = 0;
  let lastPhase = '';
  const approved = new Set<number>();
  try {
    const deadline = Date.now() + TEST_MS - 60_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`${name}: bakeoff did not finish; last phase ${lastPhase}`);
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
        checks.push({ stage: st.stage?.index ?? null, check: st.live.checks, verdict: st.live.lastVerdict ?? '?', gates: st.live.lastGates ?? [] });
        say(`${name}: check ${st.live.checks} (${where}) ${st.live.lastVerdict}: ${(st.live.lastGates ?? []).map((g) => `${g.name} ${g.verdict} — ${g.reason}`).join(' | ')}`);
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
    return { result, traffic, operatorStops, checks, sidesAtStart, seconds: (Date.now() - t0) / 1000 };
  } finally {
    stopTraffic = true;
    await sending;
    await svc.close();
    const sent = traffic.reduce((a, t) => a + t.sent, 0);
    say(`${name}: traffic ${sent} requests in ${traffic.length} bursts, baseline ${traffic.reduce((a, t) => a + t.bySide.baseline, 0)}, candidate ${traffic.reduce((a, t) => a + t.bySide.candidate, 0)}, failed ${traffic.reduce((a, t) => a + t.failed, 0)}, dropped ${traffic.reduce((a, t) => a + t.dropped, 0)}`);
  }
}

async function mirrorCleared(lane: string): Promise<boolean> {
  const p = (await readPointer(world.db, lane))!;
  return p.mirrorTable === null && p.mirrorPercent === 0;
}

/** Stops during the canary ramp (an offline-gate approval happens before the ramp, stage null). */
const canaryStops = (o: Observed) => o.operatorStops.filter((s) => s.stage !== null || /stage \d/.test(s.reason));
const lastCheckOf = (o: Observed, stage: number) => [...o.checks].reverse().find((c) => c.stage === stage);

/**
 * Short mode (CI): the healthy candidate is never rolled back — a stall or a cold start is not a
 * breach — and the 100 % stage is judged on mirrored pairs; on a loaded machine (load average 20-30
 * on 2 cores, served geometric mean ~500 ms) 50 s stages cannot PROVE +20 %, so an operator stop at a
 * stage end is allowed and logged. Full mode (BAKEOFF_FULL=1, 3-minute stages) demands no stop at all.
 */
e2eTest(`a healthy candidate with cold caches is promoted through 50/100 %, never rolled back${FULL ? ', without an operator' : ''}`, async () => {
  const o = await runBakeoff('healthy', 'v450_e2eok');
  const st = o.result.status;
  process.stdout.write(`[e2e healthy] ${logLines.filter((l) => l.includes('healthy')).join('\n')}\n`);
  expect(o.sidesAtStart).toBe(1);
  expect(st.rollback?.reason ?? null).toBeNull(); // a false rollback shows its reason here
  expect(o.result.outcome).toBe('promoted');
  // Every check of the 100 % stage read mirrored pairs, none the bakeoff-wide baseline.
  const at100 = o.checks.filter((c) => c.stage === RAMP.length - 1 && c.gates.length > 0);
  expect(at100.length).toBeGreaterThan(0);
  for (const c of at100) for (const g of c.gates) expect(g.reason).toMatch(/mirrored requests \(both sides answered off the response path, concurrent baseline\)$/);
  expect(await mirrorCleared('e2e_healthy')).toBe(true);
  if (!FULL) return;
  expect(canaryStops(o)).toEqual([]);
  // No awaiting-operator during the ramp in the status events either (the polled stops could miss a short one).
  expect(st.events.filter((e) => e.kind === 'phase' && /awaiting-operator/.test(e.message) && /stage \d/.test(e.message))).toEqual([]);
  // Each stage's end was judged and advanced on proof; the 100 % stage on mirrored pairs, never against an older baseline.
  const ends = st.events.filter((e) => e.kind === 'live-check' && / end: /.test(e.message));
  for (const stage of RAMP.map((_, i) => i + 1)) expect(ends.some((e) => e.message.startsWith(`stage ${stage} end`) && /→ advance/.test(e.message))).toBe(true);
  const last = lastCheckOf(o, RAMP.length - 1)!;
  expect(last.verdict).toBe('pass');
  for (const g of last.gates) {
    expect(g.reason).toMatch(/mirrored requests \(both sides answered off the response path, concurrent baseline\)$/);
    expect(g.reason).not.toMatch(/baseline pooled over the whole bakeoff/);
  }
  // The lane serves the candidate.
  const pointer = (await readPointer(world.db, `e2e_healthy`))!;
  expect(pointer.liveTable).toBe(st.shadowTable);
  expect(pointer.canaryPercent).toBe(0);
  expect(o.traffic.reduce((a, t) => a + t.failed, 0)).toBe(0);
}, TEST_MS);

e2eTest('the same candidate 30 % slower (service drill penalty ×1.3) is rolled back by live:latency, pointer back on the baseline', async () => {
  const o = await runBakeoff('slow', 'v450_e2eslow', { delayMs: 0, factor: 1.3 });
  const st = o.result.status;
  process.stdout.write(`[e2e slow] ${logLines.filter((l) => l.includes('slow')).join('\n')}\n`);
  expect(canaryStops(o)).toEqual([]);
  expect(o.result.outcome).toBe('rolled-back');
  expect(st.rollback).toMatchObject({ by: 'bakeoff', automatic: true });
  expect(st.rollback!.reason).toMatch(/^live gate live:latency breached in stage \d/);
  // Judged against the concurrent baseline, not one pooled from an earlier stage: a machine-wide stall
  // then slows both sides alike, so the breach is the penalty, not the load.
  expect(st.rollback!.reason).not.toMatch(/baseline pooled over the whole bakeoff/);
  expect(await mirrorCleared('e2e_slow')).toBe(true);
  const pointer = (await readPointer(world.db, 'e2e_slow'))!;
  expect(pointer.liveTable).toBe(world.baseline.table);
  expect(pointer.candidateTable).toBeNull();
  expect(pointer.canaryPercent).toBe(0);
}, TEST_MS);
