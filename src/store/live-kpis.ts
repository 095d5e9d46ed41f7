// The live_kpis store: one row per lane, side, config and time window, written by the serving path
// (src/serve/live-kpis.ts) and read by the canary check (src/activities/canary.ts), the report's
// canary timeline and `bakeoff judge backtest`. Two readings of the same rows:
//   readLiveKpis      the old summary (sample-weighted rates, mean of window p95s) that bakeoffs
//                     started before poolable evidence still judge on;
//   readLiveEvidence  poolable counts + merged latency histograms (src/workflows/live-evidence.ts),
//                     exact over any span of windows.
// Rows written before the poolable columns existed (errors … latency_hist NULL) are still read: counts
// are rebuilt from their rates, and having no histogram they add no latency evidence (the latency
// gate stays inconclusive on them rather than guessing from a p95).
import { z } from 'zod';
import type { Queryable } from '../platform/db';
import type { LiveSideKpis } from '../activities/types';
import { emptyHistogram, emptySide, mergeSide } from '../workflows/latency-histogram';
import type { SideEvidence, WindowEvidence } from '../workflows/live-evidence';

export type Side = 'baseline' | 'candidate';
/** 'live': served requests. 'mirror': shadow traffic (issue 14) — baseline = the served answer of a mirrored request, candidate = the mirror target's unserved answer. */
export type Traffic = 'live' | 'mirror';

// The poolable columns are added by ALTER … IF NOT EXISTS so a database created by an older
// version upgrades in place; old columns stay written (running bakeoffs read them).
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
ALTER TABLE live_kpis ADD COLUMN IF NOT EXISTS errors integer CHECK (errors >= 0);
ALTER TABLE live_kpis ADD COLUMN IF NOT EXISTS quality_n integer CHECK (quality_n >= 0);
ALTER TABLE live_kpis ADD COLUMN IF NOT EXISTS quality_hits integer CHECK (quality_hits >= 0);
ALTER TABLE live_kpis ADD COLUMN IF NOT EXISTS cached_answers integer CHECK (cached_answers >= 0);
ALTER TABLE live_kpis ADD COLUMN IF NOT EXISTS latency_hist jsonb;
ALTER TABLE live_kpis ADD COLUMN IF NOT EXISTS traffic text NOT NULL DEFAULT 'live' CHECK (traffic IN ('live', 'mirror'));
`;

export interface LiveKpiWindow {
  lane: string;
  side: Side;
  windowStart: Date;
  windowEnd: Date;
  /** Every request routed to the side, answer-cache hits included (the old columns' population). */
  samples: number;
  errorRate: number | null;
  p95Ms: number | null;
  /** Share of queries whose top result scores above the calibrated cosine τ. */
  qualityProxy: number | null;
  rerankAcceptance?: number | null;
  nearDupShare?: number | null;
  diversityTop5?: number | null;
  configHash?: string | null;
  /**
   * Poolable evidence of the judged requests (samples − cachedAnswers). Absent: an old-format row
   * (older recorders and test writers that only know the rates).
   */
  evidence?: Pick<SideEvidence, 'errors' | 'qualityN' | 'qualityHits' | 'cachedAnswers' | 'latency'>;
  /** Default 'live'. */
  traffic?: Traffic;
}

/** The serving path's writer: one call per side (and config) per window. */
export async function recordLiveKpiWindow(db: Queryable, w: LiveKpiWindow): Promise<void> {
  const e = w.evidence;
  await db.query(
    `INSERT INTO live_kpis (lane, side, window_start, window_end, samples, error_rate, p95_ms, quality_proxy,
       rerank_acceptance, near_dup_share, diversity_top5, config_hash,
       errors, quality_n, quality_hits, cached_answers, latency_hist, traffic)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::jsonb, $18)`,
    [
      w.lane, w.side, w.windowStart.toISOString(), w.windowEnd.toISOString(), w.samples, w.errorRate, w.p95Ms, w.qualityProxy,
      w.rerankAcceptance ?? null, w.nearDupShare ?? null, w.diversityTop5 ?? null, w.configHash ?? null,
      e?.errors ?? null, e?.qualityN ?? null, e?.qualityHits ?? null, e?.cachedAnswers ?? null, e ? JSON.stringify(e.latency) : null,
      w.traffic ?? 'live',
    ],
  );
}

/**
 * Aggregates the windows that ENDED in (from, to] — consecutive checks never count a window twice.
 * Rates are sample-weighted means. p95 is the sample-weighted mean of the windows' p95s: an
 * approximation (percentiles do not compose), stable when windows are short and similar in size.
 * Kept as it was: the old judge reads it, and bakeoffs started before readLiveEvidence replay it.
 */
export async function readLiveKpis(db: Queryable, lane: string, from: Date, to: Date, traffic: Traffic = 'live'): Promise<Record<Side, LiveSideKpis>> {
  const r = await db.query<{ side: Side; samples: string | number; error_rate: number | null; p95_ms: number | null; quality_proxy: number | null }>(
    `SELECT side,
            COALESCE(sum(samples), 0) AS samples,
            sum(error_rate * samples) FILTER (WHERE error_rate IS NOT NULL) / NULLIF(sum(samples) FILTER (WHERE error_rate IS NOT NULL), 0) AS error_rate,
            sum(p95_ms * samples) FILTER (WHERE p95_ms IS NOT NULL) / NULLIF(sum(samples) FILTER (WHERE p95_ms IS NOT NULL), 0) AS p95_ms,
            sum(quality_proxy * samples) FILTER (WHERE quality_proxy IS NOT NULL) / NULLIF(sum(samples) FILTER (WHERE quality_proxy IS NOT NULL), 0) AS quality_proxy
       FROM live_kpis
      WHERE lane = $1 AND window_end > $2 AND window_end <= $3 AND traffic = $4
      GROUP BY side`,
    [lane, from.toISOString(), to.toISOString(), traffic],
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

// A histogram read back from jsonb crosses a boundary: checked before it is merged.
const LatencyHistogramSchema = z
  .object({
    layout: z.object({ minMs: z.number().positive(), growth: z.number().gt(1), buckets: z.int().min(1).max(100_000) }),
    index: z.array(z.int().min(0)),
    counts: z.array(z.int().min(1)),
  })
  .refine((h) => h.index.length === h.counts.length && h.index.every((i, k) => i < h.layout.buckets && (k === 0 || i > h.index[k - 1])), {
    message: 'index and counts must be parallel, ascending and inside the layout',
  });

interface EvidenceRow {
  side: Side;
  window_end: Date | string;
  samples: number;
  error_rate: number | null;
  quality_proxy: number | null;
  errors: number | null;
  quality_n: number | null;
  quality_hits: number | null;
  cached_answers: number | null;
  latency_hist: unknown;
}

/**
 * One row as poolable evidence. Old-format rows: errors = round(error_rate·samples), quality over
 * the non-failed requests (what the old recorder's quality_proxy was a share of), no cached answers
 * known (their samples include any), and an empty histogram — they add no latency evidence. A
 * histogram that fails validation is treated the same way: the check degrades to "latency
 * inconclusive" instead of failing the activity on every retry.
 */
export function rowToSideEvidence(row: EvidenceRow): SideEvidence {
  const samples = Number(row.samples);
  const cachedAnswers = row.cached_answers === null ? 0 : Number(row.cached_answers);
  const requests = Math.max(0, samples - cachedAnswers);
  const errors = row.errors !== null ? Number(row.errors) : Math.round((row.error_rate ?? 0) * samples);
  const qualityN = row.quality_n !== null ? Number(row.quality_n) : row.quality_proxy === null ? 0 : Math.max(0, samples - errors);
  const qualityHits = row.quality_hits !== null ? Number(row.quality_hits) : Math.round((row.quality_proxy ?? 0) * qualityN);
  const raw = typeof row.latency_hist === 'string' ? safeJson(row.latency_hist) : row.latency_hist;
  const parsed = raw === null || raw === undefined ? null : LatencyHistogramSchema.safeParse(raw);
  const latency = parsed?.success ? parsed.data : emptyHistogram();
  return { requests, errors, qualityN, qualityHits, latency, cachedAnswers };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return null;
  }
}

async function evidenceRows(db: Queryable, lane: string, fromMs: number, toMs: number, traffic: Traffic = 'live'): Promise<EvidenceRow[]> {
  const r = await db.query<EvidenceRow>(
    `SELECT side, window_end, samples, error_rate, quality_proxy, errors, quality_n, quality_hits, cached_answers, latency_hist
       FROM live_kpis
      WHERE lane = $1 AND window_end > $2 AND window_end <= $3 AND traffic = $4
      ORDER BY window_end, id`,
    [lane, new Date(fromMs).toISOString(), new Date(toMs).toISOString(), traffic],
  );
  return r.rows;
}

function pool(rows: readonly EvidenceRow[], fromMs: number, toMs: number): WindowEvidence {
  const out: WindowEvidence = { fromMs, toMs, baseline: emptySide(), candidate: emptySide() };
  for (const row of rows) out[row.side] = mergeSide(out[row.side], rowToSideEvidence(row));
  return out;
}

/**
 * Both sides' evidence pooled over the windows that ended in (fromMs, toMs]: counts summed, histograms
 * merged. `traffic` picks served ('live', the default) or shadow ('mirror') requests; never both.
 */
export async function readLiveEvidence(db: Queryable, lane: string, fromMs: number, toMs: number, traffic: Traffic = 'live'): Promise<WindowEvidence> {
  return pool(await evidenceRows(db, lane, fromMs, toMs, traffic), fromMs, toMs);
}

/**
 * The recorded windows of (fromMs, toMs] one by one, in order of their end (rows sharing a window end —
 * several configs of a side — pooled); each spans (previous window's end, its end]. For the backtest.
 */
export async function readLiveWindows(db: Queryable, lane: string, fromMs: number, toMs: number): Promise<WindowEvidence[]> {
  const byEnd = new Map<number, EvidenceRow[]>();
  for (const row of await evidenceRows(db, lane, fromMs, toMs)) {
    const end = new Date(row.window_end).getTime();
    const list = byEnd.get(end) ?? [];
    list.push(row);
    byEnd.set(end, list);
  }
  const out: WindowEvidence[] = [];
  let prev = fromMs;
  for (const [end, rows] of [...byEnd.entries()].sort((a, b) => a[0] - b[0])) {
    out.push(pool(rows, prev, end));
    prev = end;
  }
  return out;
}

/** The span a lane's recorded windows cover (first window start .. last window end); null when none. */
export async function liveKpiSpan(db: Queryable, lane: string): Promise<{ fromMs: number; toMs: number } | null> {
  const r = await db.query<{ from_at: Date | string | null; to_at: Date | string | null }>(
    "SELECT min(window_start) AS from_at, max(window_end) AS to_at FROM live_kpis WHERE lane = $1 AND traffic = 'live'",
    [lane],
  );
  const row = r.rows[0];
  if (!row?.from_at || !row.to_at) return null;
  return { fromMs: new Date(row.from_at).getTime(), toMs: new Date(row.to_at).getTime() };
}
