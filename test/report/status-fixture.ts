// A bakeoff status as the workflow's `status` query returns it after an operator rollback in stage
// 2, for the report tests. The shape follows src/workflows/types.ts; the event messages are the
// workflow's own ("canary: stage i/n: p% for …"), which the canary timeline reads stage spans from.
import type { EvalReport } from '../../src/activities/types';
import type { BakeoffStatus } from '../../src/workflows/types';

export const T0 = Date.parse('2026-11-20T08:00:00Z');
export const H = 3_600_000;

export function evalReport(side: 'baseline' | 'candidate', hit: number, p95: number): EvalReport {
  return {
    side,
    table: side === 'baseline' ? 'document_chunks_v512_o0_nodedup' : 'document_chunks_v450_o10_j80_a',
    cases: 120,
    k: 10,
    metrics: { hit_rate: hit, recall: hit - 0.1, mrr: hit * 0.8, ndcg: hit * 0.85, f1: 0.6, precision: 0.7 },
    latencyMs: { encode: { p50: 2, p95: 4 }, search: { p50: 1, p95: 2 }, rerank: { p50: 3, p95: 5 }, total: { p50: p95 * 0.6, p95 } },
    manifest: null,
  };
}

export function rolledBackStatus(over: Partial<BakeoffStatus> = {}): BakeoffStatus {
  return {
    workflowId: 'bakeoff-default-0123456789abcdef',
    requestedBy: 'alice',
    lane: 'default',
    configHash: 'c'.repeat(64),
    ingestRunId: 'v450_o10_j80_a-cccccccc',
    shadowTable: 'document_chunks_v450_o10_j80_a',
    dryRun: false,
    phase: 'rolled-back',
    verdict: 'pass',
    paused: false,
    baseline: { lane: 'default', table: 'document_chunks_v512_o0_nodedup', index: null, configHash: 'b'.repeat(64), pointerVersion: 1 },
    backupId: 'bk_default_0123456789ab',
    stage: null,
    stagesTotal: 3,
    gates: [
      { name: 'hit_rate', source: 'offline', value: 0.63, baseline: 0.55, threshold: 0.6, upper: 0.7, direction: 'within-band', verdict: 'pass', reason: 'gain 8 pts is within +5..+15 pts' },
      { name: 'p95_total_ms', source: 'offline', value: 21, baseline: 20, threshold: 23, direction: 'lower-is-better', verdict: 'pass', reason: 'p95 21 ms ≤ 23 ms (+15 %)' },
      { name: 'precision', source: 'offline', value: 0.671, baseline: 0.7, threshold: 0.68, direction: 'higher-is-better', verdict: 'inconclusive', reason: 'drift 2.9 pts within the 1 pt margin' },
      { name: 'probe:prefix_leakage_rows', source: 'probe', value: 3, baseline: null, threshold: 0, direction: 'lower-is-better', verdict: 'fail', reason: '3 rows start with the prefix' },
    ],
    ingest: { table: 'document_chunks_v450_o10_j80_a', ingestRunId: 'v450_o10_j80_a-cccccccc', documents: 400, chunks: 1200, duplicatesRemoved: 200, dedupRate: 200 / 1400, index: null, durationMs: 65_000 },
    evaluation: { baseline: evalReport('baseline', 0.55, 20), candidate: evalReport('candidate', 0.63, 21) },
    live: { checks: 12, passes: 11, fails: 0, inconclusive: 1, failStreak: 0, inconclusiveStreak: 1, lastAt: T0 + 17 * H, lastVerdict: 'inconclusive', lastGates: [] },
    awaiting: null,
    approvals: [],
    rollback: {
      by: 'bob',
      reason: 'p95 spike on the dashboard',
      requestedAt: T0 + 18 * H,
      automatic: false,
      pointerRestoredAt: T0 + 18 * H + 2_000,
      pointerVersion: 5,
      cacheEpoch: 2,
      smoke: { ok: true, hitRate: 0.55, cases: 20 },
      completedAt: T0 + 18 * H + 9_000,
    },
    promotion: null,
    failure: null,
    runs: 2,
    events: [
      { at: T0 - 60_000, kind: 'phase', message: 'gating: 4 gates: 4 pass, 0 inconclusive, 0 fail → pass' },
      { at: T0, kind: 'phase', message: 'canary: stage 1/3: 10% for 16h' },
      { at: T0 + 16 * H, kind: 'phase', message: 'canary: stage 2/3: 50% for 16h' },
      { at: T0 + 18 * H, kind: 'signal', message: 'rollback requested by bob: p95 spike on the dashboard', by: 'bob' },
      { at: T0 + 18 * H + 1, kind: 'phase', message: 'rolling-back: rolling back (by bob): p95 spike on the dashboard' },
      { at: T0 + 18 * H + 9_000, kind: 'phase', message: 'rolled-back: rolled back by bob: p95 spike on the dashboard' },
    ],
    reportId: null,
    asOf: T0 + 18 * H + 9_000,
    ...over,
  };
}
