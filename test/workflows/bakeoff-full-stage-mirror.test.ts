// The 100 % stage's concurrent baseline (issue 11 (b), patch 'full-stage-mirror') on the time-skipping
// test server with the real workflow bundle, real platform activities and a real PGlite pointer. At
// 100 % the baseline serves nobody; the stage sets the pointer's mirror to the candidate, so the
// serving path answers mirrored requests on both sides (live_kpis rows with traffic 'mirror', written
// here as its recorder would), and the stage is judged on those pairs — not on the baseline pooled
// from the 50 % stage. The mirror is cleared at the stage's end and on rollback. The data plane is the
// labelled fixture (test/fixtures/data-plane.ts): offline evaluation is not what is tested here.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Db } from '../../src/platform/db';
import { HEALTHY } from '../fixtures/data-plane';
import { bakeoffInput, createLane, createRig, pointerActions, start, waitForStatus, writeTraffic, type SideTraffic } from './harness';
import { useWorkflowTestWorld } from './test-world';

const H = 3_600_000;
const M = 60_000;
const WINDOW = 5 * M;
let env: TestWorkflowEnvironment;
let db: Db;

useWorkflowTestWorld((w) => ({ env, db } = w));

const FAST: SideTraffic = { samples: 5_000, errorRate: 0.002, p95Ms: 22, qualityProxy: 0.8 };
/** The whole machine stalls during the 100 % stage: everything it answers is slower, on both sides. */
const STALLED: SideTraffic = { ...FAST, p95Ms: 60 };
const RAMP = [{ percent: 50, soak: '1h' }, { percent: 100, soak: '1h' }];

async function writeMirrorTraffic(lane: string, side: 'baseline' | 'candidate', fromMs: number, toMs: number, t: SideTraffic): Promise<void> {
  await writeTraffic(db, lane, side, fromMs, toMs, t, WINDOW, 'mirror');
}

async function mirrorColumns(lane: string) {
  const r = await db.query<{ mirror_table: string | null; mirror_percent: number }>('SELECT mirror_table, mirror_percent FROM serving_pointer WHERE lane = $1', [lane]);
  return r.rows[0];
}

/**
 * Stage 1 (50 %): both sides fast, served. From stage 2 (100 %) on the candidate's served traffic is
 * `servedAt100` and the mirrored pairs are `mirrorBaseline` / `mirrorCandidate`.
 */
async function run(name: string, servedAt100: SideTraffic, mirrorBaseline: SideTraffic, mirrorCandidate: SideTraffic) {
  const lane = `full_mirror_${name}`;
  await createLane(db, lane);
  const rig = await createRig(env, db, HEALTHY, `full-mirror-${name}`);
  return rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, `v470_${name.slice(0, 4)}`, { ramp: RAMP }), `bakeoff-full-mirror-${name}`);
    const s0 = await waitForStatus(h, (s) => s.phase === 'canary' && s.stage?.index === 0);
    const t0 = s0.stage!.startedAt;
    await writeTraffic(db, lane, 'baseline', t0 - H, t0 + H, FAST);
    await writeTraffic(db, lane, 'candidate', t0 - H, t0 + H, FAST);
    await writeTraffic(db, lane, 'candidate', t0 + H, t0 + 4 * H, servedAt100);
    await writeMirrorTraffic(lane, 'baseline', t0 + H - WINDOW, t0 + 4 * H, mirrorBaseline);
    await writeMirrorTraffic(lane, 'candidate', t0 + H - WINDOW, t0 + 4 * H, mirrorCandidate);
    const r = await h.result();
    return { r, lane, actions: await pointerActions(db, lane), mirror: await mirrorColumns(lane) };
  });
}

test('a machine-wide stall at 100 % slows both mirrored sides alike: judged on the pairs, promoted, mirror cleared before the promotion', async () => {
  const { r, actions, mirror } = await run('stall', STALLED, STALLED, STALLED);
  expect(r.status.rollback?.reason ?? null).toBeNull();
  expect(r.outcome).toBe('promoted');
  expect(actions).toEqual(['init', 'split:50', 'split:100', 'mirror', 'mirror-clear', 'promote']);
  expect(mirror).toMatchObject({ mirror_table: null, mirror_percent: 0 });
  const end = r.status.events.find((e) => e.kind === 'live-check' && e.message.startsWith('stage 2 end'));
  expect(end?.message).toMatch(/→ advance/);
  for (const g of r.status.live.lastGates) {
    expect(g.verdict).toBe('pass');
    expect(g.reason).toMatch(/mirrored requests \(both sides answered off the response path, concurrent baseline\)$/);
    expect(g.reason).not.toMatch(/pooled over the whole bakeoff/);
  }
  expect(r.status.events.map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^100 % stage: mirroring 100% of requests on both sides/)]));
});

test('a candidate slower than the concurrent mirrored baseline is rolled back at 100 %, mirror cleared', async () => {
  const { r, actions, mirror } = await run('slow', FAST, FAST, STALLED);
  expect(r.outcome).toBe('rolled-back');
  expect(r.status.rollback).toMatchObject({ by: 'bakeoff', automatic: true });
  expect(r.status.rollback!.reason).toMatch(/^live gate live:latency breached in stage 2 \(100%\): geometric mean .*mirrored requests/);
  expect(actions.slice(0, 4)).toEqual(['init', 'split:50', 'split:100', 'mirror']);
  expect(actions).toContain('mirror-clear');
  expect(mirror).toMatchObject({ mirror_table: null, mirror_percent: 0 });
});
