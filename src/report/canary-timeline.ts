// The canary's live KPIs per stage, for the report's timeline charts. Stage spans come from the
// bakeoff's own event log (phase events "canary: stage i/n: p% for …" written by the workflow in
// workflow time — the same clock the live_kpis windows are judged in, also under a time-skipping
// test server); the KPI windows come from the live_kpis table the serving path writes.
import type { Queryable } from '../platform/db';
import type { BakeoffStatus } from '../workflows/types';

export type KpiSide = 'baseline' | 'candidate';

export interface KpiWindowPoint {
  side: KpiSide;
  windowStart: number;
  windowEnd: number;
  samples: number;
  errorRate: number | null;
  p95Ms: number | null;
  qualityProxy: number | null;
}

export interface StageSpan {
  /** 0-based, like StageStatus.index. */
  index: number;
  percent: number;
  startedAt: number;
  endedAt: number;
  /** The stage was still running when the status was taken. */
  open: boolean;
}

export interface StageTimeline extends StageSpan {
  windows: KpiWindowPoint[];
}

export interface CanaryTimeline {
  lane: string;
  stages: StageTimeline[];
}

const STAGE_START = /^canary: stage (\d+)\/(\d+): (\d+)%/;
/** Phases after which no stage soaks any more. */
const STAGE_ENDERS = ['promoting:', 'rolling-back:', 'done:', 'rolled-back:', 'failed:'];

/** Stage spans from the status' event log, plus the current stage if its start event was trimmed. */
export function stageSpans(status: BakeoffStatus): StageSpan[] {
  const events = [...status.events].sort((a, b) => a.at - b.at);
  const spans: StageSpan[] = [];
  const end = status.asOf || events[events.length - 1]?.at || 0;
  let open: StageSpan | null = null;
  for (const e of events) {
    if (e.kind !== 'phase') continue;
    const m = STAGE_START.exec(e.message);
    if (m) {
      if (open) spans.push({ ...open, endedAt: e.at, open: false });
      open = { index: Number(m[1]) - 1, percent: Number(m[3]), startedAt: e.at, endedAt: end, open: true };
    } else if (open && STAGE_ENDERS.some((p) => e.message.startsWith(p))) {
      spans.push({ ...open, endedAt: e.at, open: false });
      open = null;
    }
  }
  if (open) spans.push(open);
  const current = status.stage;
  if (current && !spans.some((s) => s.index === current.index)) {
    spans.push({ index: current.index, percent: current.percent, startedAt: current.startedAt, endedAt: end, open: true });
  }
  return spans.sort((a, b) => a.startedAt - b.startedAt);
}

/** At most `max` points per side: sample-weighted means of consecutive windows beyond that. */
export function downsample(points: readonly KpiWindowPoint[], max: number): KpiWindowPoint[] {
  if (points.length <= max) return [...points];
  const size = Math.ceil(points.length / max);
  const out: KpiWindowPoint[] = [];
  for (let i = 0; i < points.length; i += size) {
    const group = points.slice(i, i + size);
    const weighted = (f: (p: KpiWindowPoint) => number | null): number | null => {
      let sum = 0;
      let w = 0;
      for (const p of group) {
        const v = f(p);
        if (v === null) continue;
        sum += v * p.samples;
        w += p.samples;
      }
      return w > 0 ? sum / w : null;
    };
    out.push({
      side: group[0].side,
      windowStart: group[0].windowStart,
      windowEnd: group[group.length - 1].windowEnd,
      samples: group.reduce((s, p) => s + p.samples, 0),
      errorRate: weighted((p) => p.errorRate),
      p95Ms: weighted((p) => p.p95Ms),
      qualityProxy: weighted((p) => p.qualityProxy),
    });
  }
  return out;
}

/** Reads the lane's KPI windows that ended inside each stage. null when the bakeoff never reached a canary stage. */
export async function loadCanaryTimeline(db: Queryable, status: BakeoffStatus, maxPointsPerSide = 240): Promise<CanaryTimeline | null> {
  const spans = stageSpans(status);
  if (spans.length === 0) return null;
  const stages: StageTimeline[] = [];
  for (const span of spans) {
    const r = await db.query<{ side: KpiSide; ws: string | number; we: string | number; samples: number; error_rate: number | null; p95_ms: number | null; quality_proxy: number | null }>(
      `SELECT side, (extract(epoch FROM window_start) * 1000)::float8 AS ws, (extract(epoch FROM window_end) * 1000)::float8 AS we,
              samples, error_rate, p95_ms, quality_proxy
         FROM live_kpis
        WHERE lane = $1 AND window_end > $2 AND window_end <= $3 AND traffic = 'live'
        ORDER BY window_end, side`,
      [status.lane, new Date(span.startedAt).toISOString(), new Date(span.endedAt).toISOString()],
    );
    const all = r.rows.map(
      (row): KpiWindowPoint => ({
        side: row.side,
        windowStart: Number(row.ws),
        windowEnd: Number(row.we),
        samples: Number(row.samples),
        errorRate: row.error_rate === null ? null : Number(row.error_rate),
        p95Ms: row.p95_ms === null ? null : Number(row.p95_ms),
        qualityProxy: row.quality_proxy === null ? null : Number(row.quality_proxy),
      }),
    );
    const windows = (['baseline', 'candidate'] as const).flatMap((side) => downsample(all.filter((p) => p.side === side), maxPointsPerSide));
    stages.push({ ...span, windows });
  }
  return { lane: status.lane, stages };
}
