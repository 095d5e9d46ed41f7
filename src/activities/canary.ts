// Live KPIs of the canary: the serving path writes one row per lane, side and time window
// (recordLiveKpiWindow); the canary check reads the windows that ended since the last check and
// judges candidate against baseline with src/workflows/gates.ts. Too few requests on either side is
// an inconclusive check, never a pass.
import type { Db, Queryable } from '../platform/db';
import { judgeLive, overallVerdict } from '../workflows/gates';
import { LiveThresholdsSchema } from '../workflows/messages';
import type { LiveCheckInput, LiveCheckResult, LiveSideKpis } from './types';

export const LIVE_KPIS_DDL = `
CREATE TABLE IF NOT EXISTS live_kpis (
  id                   bigserial PRIMARY KEY,
  lane                 text NOT NULL,
  side                 text NOT NULL CHECK (side IN ('baseline', 'candidate')),
  window_start         timestamptz NOT NULL,
  window_end           timestamptz NOT NULL CHECK (window_end > window_start),
  samples              integer NOT NULL CHECK (samples >= 0),
  error_rate           double precision CHECK (error_rate BETWEEN 0 AND 1),
  p95_ms               double precision CHECK (p95_ms >= 0),
  quality_proxy        double precision CHECK (quality_proxy BETWEEN 0 AND 1),
  rerank_acceptance    double precision,
  near_dup_share       double precision,
  diversity_top5       double precision,
  config_hash          text,
  recorded_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS live_kpis_lane_end ON live_kpis (lane, window_end);
`;

export type Side = 'baseline' | 'candidate';

export interface LiveKpiWindow {
  lane: string;
  side: Side;
  windowStart: Date;
  windowEnd: Date;
  samples: number;
  errorRate: number | null;
  p95Ms: number | null;
  /** Share of queries whose top result scores above the calibrated cosine τ. */
  qualityProxy: number | null;
  rerankAcceptance?: number | null;
  nearDupShare?: number | null;
  diversityTop5?: number | null;
  configHash?: string | null;
}

/** The serving path's writer: one call per side per window. */
export async function recordLiveKpiWindow(db: Queryable, w: LiveKpiWindow): Promise<void> {
  await db.query(
    `INSERT INTO live_kpis (lane, side, window_start, window_end, samples, error_rate, p95_ms, quality_proxy,
       rerank_acceptance, near_dup_share, diversity_top5, config_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [
      w.lane, w.side, w.windowStart.toISOString(), w.windowEnd.toISOString(), w.samples, w.errorRate, w.p95Ms, w.qualityProxy,
      w.rerankAcceptance ?? null, w.nearDupShare ?? null, w.diversityTop5 ?? null, w.configHash ?? null,
    ],
  );
}

/**
 * Aggregates the windows that ENDED in (from, to] — consecutive checks never count a window twice.
 * Rates are sample-weighted means. p95 is the sample-weighted mean of the windows' p95s: an
 * approximation (percentiles do not compose), stable when windows are short and similar in size.
 */
export async function readLiveKpis(db: Queryable, lane: string, from: Date, to: Date): Promise<Record<Side, LiveSideKpis>> {
  const r = await db.query<{ side: Side; samples: string | number; error_rate: number | null; p95_ms: number | null; quality_proxy: number | null }>(
    `SELECT side,
            COALESCE(sum(samples), 0) AS samples,
            sum(error_rate * samples) FILTER (WHERE error_rate IS NOT NULL) / NULLIF(sum(samples) FILTER (WHERE error_rate IS NOT NULL), 0) AS error_rate,
            sum(p95_ms * samples) FILTER (WHERE p95_ms IS NOT NULL) / NULLIF(sum(samples) FILTER (WHERE p95_ms IS NOT NULL), 0) AS p95_ms,
            sum(quality_proxy * samples) FILTER (WHERE quality_proxy IS NOT NULL) / NULLIF(sum(samples) FILTER (WHERE quality_proxy IS NOT NULL), 0) AS quality_proxy
       FROM live_kpis
      WHERE lane = $1 AND window_end > $2 AND window_end <= $3
      GROUP BY side`,
    [lane, from.toISOString(), to.toISOString()],
  );
  const empty = (): LiveSideKpis => ({ samples: 0, errorRate: null, p95Ms: null, qualityProxy: null });
  const out: Record<Side, LiveSideKpis> = { baseline: empty(), candidate: empty() };
  for (const row of r.rows) {
    out[row.side] = {
      samples: Number(row.samples),
      errorRate: row.error_rate === null ? null : Number(row.error_rate),
      p95Ms: row.p95_ms === null ? null : Number(row.p95_ms),
      qualityProxy: row.quality_proxy === null ? null : Number(row.quality_proxy),
    };
  }
  return out;
}

export function createCanaryActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    /** Read-only, so safe to retry and to run in a dry run. */
    async checkLiveKpis(input: LiveCheckInput): Promise<LiveCheckResult> {
      const kpis = await readLiveKpis(db, input.lane, new Date(input.fromMs), new Date(input.toMs));
      // Parsed again: a bakeoff started before a threshold existed carries no value for it.
      const thresholds = LiveThresholdsSchema.parse(input.thresholds);
      const gates = judgeLive(kpis.baseline, kpis.candidate, thresholds);
      return { fromMs: input.fromMs, toMs: input.toMs, baseline: kpis.baseline, candidate: kpis.candidate, gates, verdict: overallVerdict(gates) };
    },
  };
}
