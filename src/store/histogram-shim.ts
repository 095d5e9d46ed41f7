// TEMPORARY stand-in for src/workflows/latency-histogram.ts (being written in parallel): the three
// functions the recorder and the store need, same names and meaning. Delete once that file lands.
import { DEFAULT_LAYOUT, type HistogramLayout, type LatencyHistogram, type SideEvidence } from '../workflows/live-evidence';

export function bucketOf(ms: number, layout: HistogramLayout): number {
  if (!(ms > layout.minMs)) return 0;
  const i = Math.floor(Math.log(ms / layout.minMs) / Math.log(layout.growth));
  return Math.min(layout.buckets - 1, Math.max(0, i));
}

export function emptySide(): SideEvidence {
  return { requests: 0, errors: 0, qualityN: 0, qualityHits: 0, cachedAnswers: 0, latency: { layout: { ...DEFAULT_LAYOUT }, index: [], counts: [] } };
}

function merge(a: LatencyHistogram, b: LatencyHistogram): LatencyHistogram {
  const m = new Map<number, number>();
  a.index.forEach((i, k) => m.set(i, (m.get(i) ?? 0) + a.counts[k]));
  const same = JSON.stringify(a.layout) === JSON.stringify(b.layout);
  b.index.forEach((i, k) => {
    const t = same ? i : bucketOf(b.layout.minMs * b.layout.growth ** (i + 0.5), a.layout);
    m.set(t, (m.get(t) ?? 0) + b.counts[k]);
  });
  const index = [...m.keys()].sort((x, y) => x - y);
  return { layout: a.layout, index, counts: index.map((i) => m.get(i)!) };
}

export function mergeSide(a: SideEvidence, b: SideEvidence): SideEvidence {
  return {
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    qualityN: a.qualityN + b.qualityN,
    qualityHits: a.qualityHits + b.qualityHits,
    cachedAnswers: a.cachedAnswers + b.cachedAnswers,
    latency: merge(a.latency, b.latency),
  };
}
