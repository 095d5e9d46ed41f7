// `bakeoff dry-run` with its shadow stage, as CI runs it (issue 14): real Temporal dev server, real
// PostgreSQL, the CLI in-process, the worker with the labelled fixture data plane. The mirrored
// evidence is what the serving path's recorder writes (live_kpis rows with traffic 'mirror' and
// mirror_comparisons windows), laid down ahead in 1 s windows so each check finds the span it covers;
// the real service writing them is covered by test/serve/mirror*.test.ts and the demo. A degraded
// candidate (mirrored p95 60 ms vs 22 ms) fails the shadow stage and the dry run exits 1; a healthy one
// passes it and exits 0. Either way the pointer's only changes are the mirror and its clearing.
import * as fs from 'node:fs';
import type { Db } from '../../src/platform/db';
import { recordMirrorComparisonWindow } from '../../src/store/mirror-comparisons';
import { HEALTHY } from '../fixtures/data-plane';
import { bakeoffInProcess } from '../support/cli';
import { writeTraffic, type SideTraffic } from '../workflows/harness';
import { createLane, createOpsRig, pointerActions, writeInputFile, type OpsRig } from './rig';

let rig: OpsRig;

beforeAll(async () => {
  rig = await createOpsRig('dryshadow');
  await rig.startWorker(HEALTHY);
});
afterAll(async () => {
  await rig?.close();
});

const WINDOW_MS = 1_000;
const SPAN_MS = 120_000;
const HEALTHY_SIDE: SideTraffic = { samples: 4_000, errorRate: 0.002, p95Ms: 22, qualityProxy: 0.8 };

/** Mirrored evidence of one side in 1 s windows over the next SPAN_MS (what serve's recorder writes). */
async function writeMirrorWindows(db: Db, lane: string, side: 'baseline' | 'candidate', fromMs: number, t: SideTraffic): Promise<void> {
  await writeTraffic(db, lane, side, fromMs, fromMs + SPAN_MS, t, WINDOW_MS, 'mirror');
  if (side === 'candidate') {
    for (let w = fromMs; w + WINDOW_MS <= fromMs + SPAN_MS; w += WINDOW_MS) {
      await recordMirrorComparisonWindow(db, {
        lane, windowStart: new Date(w), windowEnd: new Date(w + WINDOW_MS), mirrorConfigHash: null,
        n: 300, overlapSum: 300 * 0.8, rboSum: 300 * 0.75, top1Changes: 30, mirrorErrors: 0, dropped: 10,
      });
    }
  }
}

async function dryRunWithShadow(lane: string, candidate: SideTraffic) {
  await createLane(rig.db, lane);
  const now = Date.now();
  await writeMirrorWindows(rig.db, lane, 'baseline', now, HEALTHY_SIDE);
  await writeMirrorWindows(rig.db, lane, 'candidate', now, candidate);
  const file = writeInputFile(rig.home, lane, lane, `v450_${lane}`, { dryRunSoak: '1s', shadow: { soak: '15s', checkInterval: '5s' } });
  // --traffic none: the evidence above is the traffic (the rig's env has a DATABASE_URL).
  return bakeoffInProcess(['dry-run', '--config', file, '--traffic', 'none'], rig.env);
}

test('a degraded candidate fails the dry run\'s shadow stage on mirrored requests: exit 1, the shadow gates printed and reported', async () => {
  const r = await dryRunWithShadow('dsh_slow', { ...HEALTHY_SIDE, p95Ms: 60 });
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^Shadow stage\n {2}100 % of requests mirrored to the candidate \(never served\) · soak 15s · FAILED$/m);
  expect(r.stdout).toMatch(/compared \d+ · dropped \d+ \(\d+\.\d % of mirror jobs\) · overlap@10 0\.800 · RBO 0\.750 · top-1 changed 10\.0 %/);
  expect(r.stdout).toMatch(/^live:latency\s+live\s+.*FAIL/m);
  expect(r.stdout).toContain('verdict: PASS, shadow stage FAILED — a gate failed (exit 1)');
  const report = JSON.parse(fs.readFileSync(/^report: (.+)$/m.exec(r.stdout)![1], 'utf8'));
  expect(report).toMatchObject({ outcome: 'dry-run-failed', verdict: 'pass', exitCode: 1, shadow: { outcome: 'failed', percent: 100 } });
  expect(report.shadow.mirror.n).toBeGreaterThanOrEqual(200);
  expect(report.status.rollback).toBeNull(); // a dry run judges and reports, never acts
  expect(await pointerActions(rig.db, 'dsh_slow')).toEqual(['init', 'mirror', 'mirror-clear']);
});

test('a healthy candidate passes the dry run\'s shadow stage on mirrored requests: exit 0', async () => {
  const r = await dryRunWithShadow('dsh_ok', HEALTHY_SIDE);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^ {2}100 % of requests mirrored to the candidate \(never served\) · soak 15s · PASSED$/m);
  expect(r.stdout).toMatch(/^shadow:overlap_at10\s+live\s+0\.800\s+.*PASS/m);
  expect(r.stdout).toContain('verdict: PASS, shadow stage PASSED — every gate passed (exit 0)');
  expect(await pointerActions(rig.db, 'dsh_ok')).toEqual(['init', 'mirror', 'mirror-clear']);
});
