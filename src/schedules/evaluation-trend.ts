// The 7-day trend of a lane's scheduled evaluations: per metric the runs in the window, first/last,
// mean, min/max, the least-squares slope per day and a direction. Smoke and full evaluations use
// different case sets, so each kind gets its own trend (mixing them would show a jump that is only
// a change of sample). Pure computeTrend + a loader over evaluation_history.
import type { Queryable } from '../platform/db';
import { hasEvaluationHistory, readEvaluationHistory, type EvaluationHistoryRow, type EvaluationKind } from '../store/evaluation-history';

export const DAY_MS = 86_400_000;

export const TREND_METRICS = ['hit_rate', 'mrr', 'ndcg', 'recall', 'f1', 'precision', 'p95_total_ms'] as const;
export type TrendMetricName = (typeof TREND_METRICS)[number];

export interface TrendPoint {
  at: number;
  workflowId: string;
  cases: number;
  values: Record<TrendMetricName, number | null>;
}

export interface MetricTrend {
  metric: TrendMetricName;
  /** Runs with a value for this metric. */
  n: number;
  first: number | null;
  last: number | null;
  mean: number | null;
  min: number | null;
  max: number | null;
  /** last − first. */
  change: number | null;
  /** Least-squares slope, units per day; null with fewer than two distinct times. */
  slopePerDay: number | null;
  direction: 'up' | 'down' | 'flat' | 'insufficient';
  /** Whether the change is an improvement (lower is better for latency); null when flat/insufficient. */
  improving: boolean | null;
}

export interface EvaluationTrend {
  lane: string;
  kind: EvaluationKind;
  days: number;
  from: number;
  to: number;
  runs: number;
  points: TrendPoint[];
  metrics: MetricTrend[];
}

/** Changes smaller than this are "flat": half a point for rates, 5 % of the first value for latency. */
function flatBand(metric: TrendMetricName, first: number): number {
  return metric === 'p95_total_ms' ? Math.abs(first) * 0.05 : 0.005;
}

export function pointFromHistory(row: EvaluationHistoryRow): TrendPoint {
  return {
    at: row.startedAt,
    workflowId: row.workflowId,
    cases: row.cases,
    values: { ...row.metrics, p95_total_ms: row.p95TotalMs },
  };
}

/** The trend over (now − days, now]; points outside the window are ignored. */
export function computeTrend(points: readonly TrendPoint[], o: { lane: string; kind: EvaluationKind; now: number; days?: number }): EvaluationTrend {
  const days = o.days ?? 7;
  const from = o.now - days * DAY_MS;
  const inWindow = points.filter((p) => p.at > from && p.at <= o.now).sort((a, b) => a.at - b.at);
  const metrics = TREND_METRICS.map((metric): MetricTrend => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const p of inWindow) {
      const v = p.values[metric];
      if (typeof v === 'number' && Number.isFinite(v)) {
        xs.push((p.at - from) / DAY_MS);
        ys.push(v);
      }
    }
    const n = ys.length;
    if (n === 0) return { metric, n, first: null, last: null, mean: null, min: null, max: null, change: null, slopePerDay: null, direction: 'insufficient', improving: null };
    const first = ys[0];
    const last = ys[n - 1];
    const mean = ys.reduce((s, y) => s + y, 0) / n;
    const slope = leastSquaresSlope(xs, ys);
    const change = last - first;
    let direction: MetricTrend['direction'] = 'insufficient';
    if (n >= 2) direction = Math.abs(change) <= flatBand(metric, first) ? 'flat' : change > 0 ? 'up' : 'down';
    const improving = direction === 'up' || direction === 'down' ? (metric === 'p95_total_ms' ? direction === 'down' : direction === 'up') : null;
    return { metric, n, first, last, mean, min: Math.min(...ys), max: Math.max(...ys), change, slopePerDay: slope, direction, improving };
  });
  return { lane: o.lane, kind: o.kind, days, from, to: o.now, runs: inWindow.length, points: inWindow, metrics };
}

export function leastSquaresSlope(xs: readonly number[], ys: readonly number[]): number | null {
  const n = xs.length;
  if (n < 2) return null;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  return sxx === 0 ? null : sxy / sxx;
}

/** One trend per evaluation kind the lane has in the window (smoke first, then full, then manual). */
export async function loadEvaluationTrends(db: Queryable, lane: string, o: { now?: number; days?: number } = {}): Promise<EvaluationTrend[]> {
  if (!(await hasEvaluationHistory(db))) return [];
  const now = o.now ?? Date.now();
  const days = o.days ?? 7;
  const rows = await readEvaluationHistory(db, { lane, since: now - days * DAY_MS, until: now });
  const kinds: EvaluationKind[] = ['smoke', 'full', 'manual'];
  return kinds
    .filter((kind) => rows.some((r) => r.kind === kind))
    .map((kind) => computeTrend(rows.filter((r) => r.kind === kind).map(pointFromHistory), { lane, kind, now, days }));
}
