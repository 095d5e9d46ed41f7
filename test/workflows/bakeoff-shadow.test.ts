// The shadow stage (issue 14 item 2) on the time-skipping test server with the real workflow bundle,
// real platform activities and a real PGlite pointer: mirrored evidence (live_kpis rows with
// traffic 'mirror' and mirror_comparisons windows, what the serving path's recorder writes) is judged
// before any split. Healthy → the canary runs and the candidate is promoted; a degraded candidate
// (latency, or answers that share little with the live ones) → rolled back from the shadow stage with
// no split ever made. Every path ends with the pointer's mirror columns cleared. The data plane is the
// labelled fixture (test/fixtures/data-plane.ts): offline evaluation is not what is tested here.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Db } from '../../src/platform/db';
import { recordMirrorComparisonWindow } from '../../src/store/mirror-comparisons';
import { approveUpdate } from '../../src/workflows/messages';
import { emptyMirrorPool, overlapGate, poolMirror } from '../../src/workflows/shadow-gates';
import { HEALTHY } from '../fixtures/data-plane';
import {
  bakeoffInput,
  createLane,
  createRig,
  pointerActions,
  start,
  waitForStatus,
  writeTraffic,
  type SideTraffic,
} from './harness';
import { useWorkflowTestWorld } from './test-world';

const H = 3_600_000;
const M = 60_000;
const WINDOW = 5 * M;
let env: TestWorkflowEnvironment;
let db: Db;

useWorkflowTestWorld((w) => ({ env, db } = w));

/** Busy enough that 30 minutes of mirrored requests prove non-breach (the judge's tolerance is 2 pts of quality). */
const MIRROR_HEALTHY: SideTraffic = { samples: 5_000, errorRate: 0.002, p95Ms: 22, qualityProxy: 0.8 };

/** Plays the serving path's mirror recorder: one live_kpis row (traffic 'mirror') per side per window. */
async function writeMirrorTraffic(lane: string, side: 'baseline' | 'candidate', fromMs: number, toMs: number, t: SideTraffic): Promise<void> {
  await writeTraffic(db, lane, side, fromMs, toMs, t, WINDOW, 'mirror');
}

/** The label-free comparisons of each window: n compared requests with the given mean overlap@10. */
async function writeComparisons(lane: string, fromMs: number, toMs: number, n: number, overlap: number): Promise<void> {
  for (let w = fromMs; w + WINDOW <= toMs; w += WINDOW) {
    await recordMirrorComparisonWindow(db, {
      lane, windowStart: new Date(w), windowEnd: new Date(w + WINDOW), mirrorConfigHash: null,
      n, overlapSum: n * overlap, rboSum: n * overlap, top1Changes: Math.round(n * (1 - overlap)), mirrorErrors: 0, dropped: 0,
    });
  }
}

async function mirrorColumns(lane: string) {
  const r = await db.query<{ mirror_table: string | null; mirror_percent: number; mirror_owner: string | null }>(
    'SELECT mirror_table, mirror_percent, mirror_owner FROM serving_pointer WHERE lane = $1',
    [lane],
  );
  return r.rows[0];
}

const SHADOW = { soak: '30m', checkInterval: '5m' };

/** The Web UI's "Current Details" of a bakeoff (the SDK's built-in metadata query). */
const currentDetailsOf = async (h: { query: <T>(name: string) => Promise<T> }): Promise<string> =>
  (await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';

test('healthy mirrored evidence: the shadow stage passes, the canary runs, promoted, mirror cleared', async () => {
  const lane = 'shadow_ok';
  await createLane(db, lane);
  const rig = await createRig(env, db, HEALTHY, 'shadow-ok');
  const r = await rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, 'v460_sok', { shadow: SHADOW, ramp: [{ percent: 50, soak: '1h' }] }), 'bakeoff-shadow-ok');
    const s0 = await waitForStatus(h, (s) => s.phase === 'shadow');
    expect(s0.shadow).toMatchObject({ percent: 100, soakMs: 30 * M, outcome: null });
    expect(await mirrorColumns(lane)).toMatchObject({ mirror_table: s0.shadowTable, mirror_percent: 100, mirror_owner: 'bakeoff-shadow-ok' });
    expect(await pointerActions(db, lane)).toEqual(['init', 'mirror']); // mirrored, nothing served moved
    // The Web UI's Current Details (workflow metadata, not a command) show the running shadow stage.
    expect(await currentDetailsOf(h)).toMatch(/^\*\*Phase\*\*: shadow\n[\s\S]*\*\*Shadow stage\*\* running · 0 mirrored requests compared/);
    const t0 = s0.shadow!.startedAt!;
    await writeMirrorTraffic(lane, 'baseline', t0 - H, t0 + 2 * H, MIRROR_HEALTHY);
    await writeMirrorTraffic(lane, 'candidate', t0 - H, t0 + 2 * H, MIRROR_HEALTHY);
    await writeComparisons(lane, t0 - WINDOW, t0 + 2 * H, 1_000, 0.8);
    await writeTraffic(db, lane, 'baseline', t0 - H, t0 + 3 * H, MIRROR_HEALTHY);
    await writeTraffic(db, lane, 'candidate', t0 - H, t0 + 3 * H, MIRROR_HEALTHY);
    return h.result();
  });
  expect(r.outcome).toBe('promoted');
  const sh = r.status.shadow!;
  expect(sh.outcome).toBe('passed');
  expect(sh.live.checks).toBe(6);
  expect(sh.live.fails).toBe(0);
  expect(sh.live.lastGates.map((g) => [g.name, g.verdict])).toEqual([
    ['live:samples', 'pass'], ['live:error_rate', 'pass'], ['live:quality_proxy', 'pass'], ['live:latency', 'pass'], ['shadow:overlap_at10', 'pass'],
  ]);
  expect(sh.mirror.n).toBe(6 * 1_000);
  expect(sh.mirror.meanOverlapAt10).toBeCloseTo(0.8, 9);
  expect(sh.mirrorClearedAt).not.toBeNull();
  expect(r.status.events.map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^shadow end: check pass .*→ advance/)]));
  // The mirror was set and cleared before the first split; the canary then ran and promoted.
  expect(await pointerActions(db, lane)).toEqual(['init', 'mirror', 'mirror-clear', 'split:50', 'promote']);
  expect(await mirrorColumns(lane)).toMatchObject({ mirror_table: null, mirror_percent: 0, mirror_owner: null });
});

test.each([
  ['latency', { ...MIRROR_HEALTHY, p95Ms: 60 }, 0.8, /^shadow gate live:latency breached/],
  ['overlap', MIRROR_HEALTHY, 0.2, /^shadow gate shadow:overlap_at10 breached .*mean overlap@10 with the live answers 0\.200/],
])('a degraded candidate (%s) is rolled back from the shadow stage: no split ever, mirror cleared', async (name, candidate, overlap, reason) => {
  let details = '';
  const lane = `shadow_bad_${name}`;
  await createLane(db, lane);
  const rig = await createRig(env, db, HEALTHY, `shadow-bad-${name}`);
  const r = await rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, `v461_${name.slice(0, 3)}`, { shadow: SHADOW, ramp: [{ percent: 50, soak: '1h' }] }), `bakeoff-shadow-bad-${name}`);
    const s0 = await waitForStatus(h, (s) => s.phase === 'shadow');
    const t0 = s0.shadow!.startedAt!;
    await writeMirrorTraffic(lane, 'baseline', t0 - H, t0 + 2 * H, MIRROR_HEALTHY);
    await writeMirrorTraffic(lane, 'candidate', t0 - H, t0 + 2 * H, candidate);
    await writeComparisons(lane, t0 - WINDOW, t0 + 2 * H, 1_000, overlap);
    const res = await h.result();
    details = await currentDetailsOf(h);
    return res;
  });
  // What the Web UI's page says after the fact: the outcome first, then the shadow stage's verdict.
  expect(details).toMatch(/^\*\*Rolled back\*\*: shadow gate /);
  expect(details).toMatch(/\*\*Shadow stage\*\* failed · [1-9]\d* mirrored requests compared/);
  expect(details).not.toMatch(/\*\*Stage\*\*/);
  expect(r.outcome).toBe('rolled-back');
  expect(r.status.shadow!.outcome).toBe('failed');
  expect(r.status.rollback).toMatchObject({ by: 'bakeoff', automatic: true, reason: expect.stringMatching(reason) });
  expect(r.status.events.some((e) => /^canary:/.test(e.message))).toBe(false); // never reached a canary stage
  expect(r.status.stage).toBeNull();
  const actions = await pointerActions(db, lane);
  expect(actions).toEqual(['init', 'mirror', 'mirror-clear']);
  expect(actions.some((a) => a.startsWith('split'))).toBe(false);
  expect(await mirrorColumns(lane)).toMatchObject({ mirror_table: null, mirror_percent: 0, mirror_owner: null });
});

test('overlap gate: inconclusive below minSamples, fails below the bound, passes at it; pools sums exactly', () => {
  const summary = (n: number, overlap: number) => ({
    n, overlapSum: n * overlap, rboSum: 0, top1Changes: 0, dropped: 10, meanOverlapAt10: overlap, meanRbo: 0, top1ChangeRate: 0, droppedShare: 10 / (n + 10),
  });
  let p = poolMirror(emptyMirrorPool(), summary(150, 0.4));
  expect(overlapGate(p, 200, 0.5).verdict).toBe('inconclusive');
  p = poolMirror(p, summary(50, 0.8));
  expect(p).toMatchObject({ n: 200, dropped: 20, attempted: 220 });
  const g = overlapGate(p, 200, 0.5);
  expect(g.value).toBeCloseTo((150 * 0.4 + 50 * 0.8) / 200, 12);
  expect(g.verdict).toBe('pass'); // 0.5 exactly: at the bound passes
  expect(overlapGate(p, 200, 0.51).verdict).toBe('fail');
});

test.each([
  ['healthy', MIRROR_HEALTHY, 'passed', 'dry-run-passed'],
  ['slow', { ...MIRROR_HEALTHY, p95Ms: 60 }, 'failed', 'dry-run-failed'],
] as const)('a dry run (%s candidate) judges the shadow stage and reports, never acts: the mirror is its one pointer change', async (name, candidate, shadowOutcome, outcome) => {
  const lane = `shadow_dry_${name}`;
  await createLane(db, lane);
  const rig = await createRig(env, db, HEALTHY, `shadow-dry-${name}`);
  const r = await rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, `v462_${name.slice(0, 3)}`, { dryRun: true, shadow: SHADOW, ramp: [{ percent: 50, soak: '1h' }] }), `bakeoff-shadow-dry-${name}`);
    const s0 = await waitForStatus(h, (s) => s.phase === 'shadow');
    expect(s0.shadowTable).toMatch(/^scratch_/);
    expect(await mirrorColumns(lane)).toMatchObject({ mirror_table: s0.shadowTable, mirror_percent: 100 });
    const t0 = s0.shadow!.startedAt!;
    await writeMirrorTraffic(lane, 'baseline', t0 - H, t0 + 2 * H, MIRROR_HEALTHY);
    await writeMirrorTraffic(lane, 'candidate', t0 - H, t0 + 2 * H, candidate);
    await writeComparisons(lane, t0 - WINDOW, t0 + 2 * H, 1_000, 0.8);
    return h.result();
  });
  expect(r.outcome).toBe(outcome);
  expect(r.status.shadow).toMatchObject({ outcome: shadowOutcome, soakMs: 30 * M });
  expect(r.status.rollback).toBeNull(); // judged, never acted on
  expect(r.status.events.some((e) => /^canary:/.test(e.message))).toBe(true); // went on to the (dry) canary
  expect(await pointerActions(db, lane)).toEqual(['init', 'mirror', 'mirror-clear']);
  expect(await mirrorColumns(lane)).toMatchObject({ mirror_table: null, mirror_percent: 0, mirror_owner: null });
});

test('too little mirrored traffic, onInconclusive ask-operator: the shadow stage asks an operator; approve starts the canary', async () => {
  const lane = 'shadow_ask';
  await createLane(db, lane);
  const rig = await createRig(env, db, HEALTHY, 'shadow-ask');
  const r = await rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, 'v463_ask', { shadow: { ...SHADOW, onInconclusive: 'ask-operator' }, ramp: [{ percent: 50, soak: '1h' }] }), 'bakeoff-shadow-ask');
    const s0 = await waitForStatus(h, (s) => s.phase === 'shadow');
    const t0 = s0.shadow!.startedAt!;
    const quiet = { ...MIRROR_HEALTHY, samples: 100 };
    await writeMirrorTraffic(lane, 'baseline', t0 - H, t0 + 2 * H, quiet);
    await writeMirrorTraffic(lane, 'candidate', t0 - H, t0 + 2 * H, quiet);
    await writeComparisons(lane, t0 - WINDOW, t0 + 2 * H, 100, 0.8);
    await writeTraffic(db, lane, 'baseline', t0 - H, t0 + 4 * H, MIRROR_HEALTHY);
    await writeTraffic(db, lane, 'candidate', t0 - H, t0 + 4 * H, MIRROR_HEALTHY);
    await env.sleep(35 * M); // past the 30 min shadow soak (the test server skips the time)
    const asked = await waitForStatus(h, (s) => s.phase === 'awaiting-operator');
    expect(asked.awaiting!.reason).toMatch(/^shadow stage: stage ended without proof of non-breach: .*live:quality_proxy/);
    expect(asked.shadow).toMatchObject({ outcome: null, mirrorClearedAt: null });
    expect(await pointerActions(db, lane)).toEqual(['init', 'mirror']);
    await h.executeUpdate(approveUpdate, { args: [{ by: 'carol', reason: 'quiet hour; latency and overlap fine' }] });
    return h.result();
  });
  expect(r.outcome).toBe('promoted');
  expect(r.status.shadow).toMatchObject({ outcome: 'approved', mirror: { n: 600, meanOverlapAt10: expect.closeTo(0.8, 9) } });
  expect(r.status.approvals).toMatchObject([{ by: 'carol' }]);
  expect(await pointerActions(db, lane)).toEqual(['init', 'mirror', 'mirror-clear', 'split:50', 'promote']);
});

test('too little mirrored traffic, default onInconclusive (canary): the stage ends unproven and the canary judges real traffic, no operator', async () => {
  const lane = 'shadow_quiet';
  await createLane(db, lane);
  const rig = await createRig(env, db, HEALTHY, 'shadow-quiet');
  const r = await rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, 'v464_qui', { shadow: SHADOW, ramp: [{ percent: 50, soak: '1h' }] }), 'bakeoff-shadow-quiet');
    const s0 = await waitForStatus(h, (s) => s.phase === 'shadow');
    const t0 = s0.shadow!.startedAt!;
    const quiet = { ...MIRROR_HEALTHY, samples: 100 };
    await writeMirrorTraffic(lane, 'baseline', t0 - H, t0 + 2 * H, quiet);
    await writeMirrorTraffic(lane, 'candidate', t0 - H, t0 + 2 * H, quiet);
    await writeComparisons(lane, t0 - WINDOW, t0 + 2 * H, 100, 0.8);
    await writeTraffic(db, lane, 'baseline', t0 - H, t0 + 4 * H, MIRROR_HEALTHY);
    await writeTraffic(db, lane, 'candidate', t0 - H, t0 + 4 * H, MIRROR_HEALTHY);
    return h.result();
  });
  expect(r.outcome).toBe('promoted');
  expect(r.status.approvals).toEqual([]); // nobody was asked
  expect(r.status.shadow).toMatchObject({ outcome: 'unproven', mirror: { n: 600 } });
  expect(r.status.events.some((e) => /^shadow stage ended without proof \(stage ended without proof of non-breach: .*\); on to the canary/.test(e.message))).toBe(true);
  expect(await pointerActions(db, lane)).toEqual(['init', 'mirror', 'mirror-clear', 'split:50', 'promote']);
  expect(await mirrorColumns(lane)).toMatchObject({ mirror_table: null, mirror_percent: 0, mirror_owner: null });
});
