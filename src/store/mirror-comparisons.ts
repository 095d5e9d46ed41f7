// The mirror_comparisons store (issue 14): per lane and window, label-free comparisons of the served
// (live) answer and the mirror target's unserved answer to the same requests — written by the serving
// path's recorder (src/serve/live-kpis.ts), read by the shadow check (checkLiveKpis, traffic 'mirror').
// Sums, not means, so any span of windows pools exactly.
import type { Queryable } from '../platform/db';
import type { MirrorComparisonSummary } from '../activities/types';

export const MIRROR_COMPARISONS_DDL = `
CREATE TABLE IF NOT EXISTS mirror_comparisons (
  id                 bigserial PRIMARY KEY,
  lane               text NOT NULL,
  window_start       timestamptz NOT NULL,
  window_end         timestamptz NOT NULL CHECK (window_end > window_start),
  mirror_config_hash text,
  n                  integer NOT NULL CHECK (n >= 0),
  overlap_sum        double precision NOT NULL CHECK (overlap_sum >= 0 AND overlap_sum <= n),
  rbo_sum            double precision NOT NULL CHECK (rbo_sum >= 0 AND rbo_sum <= n + 1e-9),
  top1_changes       integer NOT NULL CHECK (top1_changes >= 0 AND top1_changes <= n),
  mirror_errors      integer NOT NULL DEFAULT 0 CHECK (mirror_errors >= 0),
  dropped            integer NOT NULL CHECK (dropped >= 0),
  recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS mirror_comparisons_lane_end ON mirror_comparisons (lane, window_end);
`;

export interface MirrorComparisonWindow {
  lane: string;
  windowStart: Date;
  windowEnd: Date;
  mirrorConfigHash: string | null;
  n: number;
  overlapSum: number;
  rboSum: number;
  top1Changes: number;
  /** Mirror computations that failed (not compared; the mirror side's live_kpis row counts them as errors). */
  mirrorErrors: number;
  dropped: number;
}

export async function recordMirrorComparisonWindow(db: Queryable, w: MirrorComparisonWindow): Promise<void> {
  await db.query(
    `INSERT INTO mirror_comparisons (lane, window_start, window_end, mirror_config_hash, n, overlap_sum, rbo_sum, top1_changes, mirror_errors, dropped)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [w.lane, w.windowStart.toISOString(), w.windowEnd.toISOString(), w.mirrorConfigHash, w.n, w.overlapSum, w.rboSum, w.top1Changes, w.mirrorErrors, w.dropped],
  );
}

/** Pools the windows that ended in (fromMs, toMs], like readLiveEvidence. */
export async function readMirrorComparisons(db: Queryable, lane: string, fromMs: number, toMs: number): Promise<MirrorComparisonSummary> {
  const r = await db.query<{ n: string | number; overlap_sum: number; rbo_sum: number; top1_changes: string | number; mirror_errors: string | number; dropped: string | number }>(
    `SELECT COALESCE(sum(n), 0) AS n, COALESCE(sum(overlap_sum), 0)::float8 AS overlap_sum, COALESCE(sum(rbo_sum), 0)::float8 AS rbo_sum,
            COALESCE(sum(top1_changes), 0) AS top1_changes, COALESCE(sum(mirror_errors), 0) AS mirror_errors, COALESCE(sum(dropped), 0) AS dropped
       FROM mirror_comparisons WHERE lane = $1 AND window_end > $2 AND window_end <= $3`,
    [lane, new Date(fromMs).toISOString(), new Date(toMs).toISOString()],
  );
  const row = r.rows[0];
  const n = Number(row.n);
  const dropped = Number(row.dropped);
  const attempted = n + dropped + Number(row.mirror_errors);
  return {
    n,
    overlapSum: Number(row.overlap_sum),
    rboSum: Number(row.rbo_sum),
    top1Changes: Number(row.top1_changes),
    dropped,
    meanOverlapAt10: n === 0 ? null : Number(row.overlap_sum) / n,
    meanRbo: n === 0 ? null : Number(row.rbo_sum) / n,
    top1ChangeRate: n === 0 ? null : Number(row.top1_changes) / n,
    droppedShare: attempted === 0 ? null : dropped / attempted,
  };
}
