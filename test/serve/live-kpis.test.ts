// The live-KPI arithmetic and the window rows written for the canary check, τ selection, the token
// bucket and the LRU — pure logic, on real vectors where vectors matter (unit vectors built here) —
// and the live_kpis store's poolable evidence round trip on real PostgreSQL and on PGlite.
import { chooseTau } from '../../src/serve/quality-tau';
import { LiveKpiRecorder, nearDuplicateShare, pairwiseDiversity, type KpiSample } from '../../src/serve/live-kpis';
import { LruCache } from '../../src/serve/lru-cache';
import { TokenBucket } from '../../src/serve/token-bucket';
import { openDb, type Db } from '../../src/platform/db';
import { LIVE_KPIS_DDL, readLiveEvidence, readLiveKpis, readLiveWindows, recordLiveKpiWindow } from '../../src/store/live-kpis';
import { DEFAULT_LAYOUT, type HistogramLayout, type LatencyHistogram } from '../../src/workflows/live-evidence';
import { freshPgDatabase } from '../support/serve-fixture';

const unit = (...xs: number[]) => {
  const n = Math.hypot(...xs);
  return Float32Array.from(xs.map((x) => x / n));
};

test('near-duplicate share: candidates that nearly copy a better-ranked one', () => {
  const a = unit(1, 0, 0);
  const aCopy = unit(1, 0.01, 0);
  const b = unit(0, 1, 0);
  const c = unit(0, 0, 1);
  expect(nearDuplicateShare([a, aCopy, b, c], 0.95)).toBeCloseTo(1 / 3, 12);
  expect(nearDuplicateShare([a, b, c], 0.95)).toBe(0);
  expect(nearDuplicateShare([a], 0.95)).toBeNull();
});

test('top-5 diversity is 1 − mean pairwise cosine', () => {
  expect(pairwiseDiversity([unit(1, 0), unit(0, 1)])).toBeCloseTo(1, 12);
  expect(pairwiseDiversity([unit(1, 0), unit(1, 0)])).toBeCloseTo(0, 6);
  // cos(a,b)=0, cos(a,c)=cos(b,c)=1/√2 → mean 0.4714
  expect(pairwiseDiversity([unit(1, 0), unit(0, 1), unit(1, 1)])).toBeCloseTo(1 - (2 / Math.SQRT2) / 3, 6);
});

test('τ maximises Youden J over the train outcomes', () => {
  const samples = [
    { score: 0.9, hit: true }, { score: 0.8, hit: true }, { score: 0.7, hit: true }, { score: 0.55, hit: false },
    { score: 0.6, hit: true }, { score: 0.5, hit: false }, { score: 0.3, hit: false }, { score: 0.65, hit: false },
  ];
  const t = chooseTau(samples);
  // τ between 0.65 and 0.7 keeps 3/4 hits, 0/4 misses (J 0.75); between 0.55 and 0.6: 4/4 vs 1/4 (J 0.75) — lowest wins.
  expect(t.youden_j).toBeCloseTo(0.75, 12);
  expect(t.tau).toBeCloseTo(0.575, 12);
  expect(t.tpr).toBe(1);
  expect(t.fpr).toBe(0.25);
  expect(t.degenerate).toBe(false);
  expect(chooseTau([{ score: 0.4, hit: true }, { score: 0.6, hit: true }]).degenerate).toBe(true);
  expect(() => chooseTau([])).toThrow(/at least one/);
});

function sample(side: 'baseline' | 'candidate', over: Partial<KpiSample> = {}): KpiSample {
  return { side, configHash: side === 'baseline' ? 'b' : 'c', latencyMs: 10, error: false, topCosine: 0.8, rerankAccepted: true, nearDupShare: 0, diversityTop5: 0.5, cached: false, ...over };
}

test('a window becomes one row per side and config, with the rates the canary check reads', () => {
  let now = 1_000_000;
  const rec = new LiveKpiRecorder({ db: { query: async () => ({ rows: [], rowCount: 0 }) }, lane: 'default', tau: 0.5, windowMs: 10_000, now: () => now });
  for (let i = 1; i <= 20; i++) rec.record(sample('baseline', { latencyMs: i }));
  rec.record(sample('candidate', { topCosine: 0.9 }));
  rec.record(sample('candidate', { topCosine: 0.2, rerankAccepted: false }));
  rec.record(sample('candidate', { topCosine: null })); // nothing returned: below τ
  rec.record(sample('candidate', { error: true, latencyMs: 500 }));
  now += 10_000;
  const rows = rec.closeWindow(now);
  const base = rows.find((r) => r.side === 'baseline')!;
  const cand = rows.find((r) => r.side === 'candidate')!;
  expect(base).toMatchObject({ samples: 20, errorRate: 0, p95Ms: 19, qualityProxy: 1, rerankAcceptance: 1, configHash: 'b' });
  expect(base.windowEnd.getTime() - base.windowStart.getTime()).toBe(10_000);
  expect(cand).toMatchObject({ samples: 4, errorRate: 0.25, p95Ms: 500, configHash: 'c' });
  expect(cand.qualityProxy).toBeCloseTo(1 / 3, 12);
  expect(cand.rerankAcceptance).toBeCloseTo(2 / 3, 12);
  // The next window starts empty where this one ended.
  expect(rec.closeWindow(now + 5)).toEqual([]);
});

test('token bucket: burst, then refill at the configured rate, with a retry-after', () => {
  let now = 0;
  const b = new TokenBucket({ perSecond: 10, burst: 3, now: () => now });
  expect([b.take(), b.take(), b.take()]).toEqual([0, 0, 0]);
  expect(b.take()).toBe(100); // one token every 100 ms
  now += 100;
  expect(b.take()).toBe(0);
  expect(b.take()).toBeGreaterThan(0);
  now += 10_000;
  expect([b.take(), b.take(), b.take(), b.take() > 0]).toEqual([0, 0, 0, true]); // never more than burst
  expect(() => new TokenBucket({ perSecond: 0, burst: 1 })).toThrow(/perSecond/);
});

test('LRU evicts the least recently used and counts hits', () => {
  const c = new LruCache<string, number>(2);
  c.set('a', 1);
  c.set('b', 2);
  expect(c.get('a')).toBe(1); // a is now the most recent
  c.set('c', 3);
  expect(c.get('b')).toBeUndefined();
  expect(c.get('c')).toBe(3);
  expect(c.hitRate()).toBeCloseTo(2 / 3, 12);
});

/** The bucket `latencyMs` must fall in, from the layout's definition (not from the recorder's code). */
function bucketHolding(latencyMs: number, layout: HistogramLayout): number {
  for (let i = 0; i < layout.buckets; i++) {
    const hi = layout.minMs * layout.growth ** (i + 1);
    if (latencyMs < hi) return i;
  }
  return layout.buckets - 1;
}

const histTotal = (h: LatencyHistogram) => h.counts.reduce((a, b) => a + b, 0);
const histAsMap = (h: LatencyHistogram) => new Map(h.index.map((i, k) => [i, h.counts[k]]));

test('the recorder counts judged requests exactly, and keeps answer-cache hits out of them', () => {
  let now = 5_000_000;
  const rec = new LiveKpiRecorder({ db: { query: async () => ({ rows: [], rowCount: 0 }) }, lane: 'default', tau: 0.5, windowMs: 10_000, now: () => now });
  const judgedLatencies = [3, 3.05, 12, 40, 41, 250];
  for (const ms of judgedLatencies) rec.record(sample('candidate', { latencyMs: ms, topCosine: ms < 100 ? 0.9 : 0.1 }));
  rec.record(sample('candidate', { error: true, latencyMs: 900 }));
  // Five hot-cache answers: fast and all above τ. They must not make the side look faster or better.
  for (let i = 0; i < 5; i++) rec.record(sample('candidate', { cached: true, latencyMs: 0.04, topCosine: 0.99 }));
  now += 10_000;
  const [row] = rec.closeWindow(now);
  // Old columns: every request, cached ones included, as before.
  expect(row.samples).toBe(12);
  expect(row.errorRate).toBeCloseTo(1 / 12, 12);
  expect(row.qualityProxy).toBeCloseTo(10 / 11, 12);
  // Poolable evidence: the 7 judged requests only.
  const e = row.evidence!;
  expect(e).toMatchObject({ errors: 1, qualityN: 6, qualityHits: 5, cachedAnswers: 5 });
  expect(histTotal(e.latency)).toBe(7);
  const expected = new Map<number, number>();
  for (const ms of [...judgedLatencies, 900]) {
    const b = bucketHolding(ms, e.latency.layout);
    expected.set(b, (expected.get(b) ?? 0) + 1);
  }
  expect(histAsMap(e.latency)).toEqual(expected);
  expect(e.latency.index).toEqual([...e.latency.index].sort((a, b) => a - b));
  // 0.04 ms (the cached answers' latency) is in no bucket: nothing below 3 ms was recorded.
  expect(Math.min(...e.latency.index)).toBe(bucketHolding(3, e.latency.layout));
});

// The old live_kpis table, exactly as released before the poolable columns: a database created by it
// must upgrade in place and its rows stay readable.
const V1_DDL = `
CREATE TABLE live_kpis (
  id bigserial PRIMARY KEY, lane text NOT NULL, side text NOT NULL CHECK (side IN ('baseline', 'candidate')),
  window_start timestamptz NOT NULL, window_end timestamptz NOT NULL CHECK (window_end > window_start),
  samples integer NOT NULL CHECK (samples >= 0), error_rate double precision CHECK (error_rate BETWEEN 0 AND 1),
  p95_ms double precision CHECK (p95_ms >= 0), quality_proxy double precision CHECK (quality_proxy BETWEEN 0 AND 1),
  rerank_acceptance double precision, near_dup_share double precision, diversity_top5 double precision,
  config_hash text, recorded_at timestamptz NOT NULL DEFAULT now()
);`;

describe.each(['PostgreSQL', 'PGlite'] as const)('live_kpis poolable evidence on %s', (engine) => {
  let db: Db;
  const t0 = Date.parse('2026-12-01T10:00:00Z');
  const min = (m: number) => t0 + m * 60_000;

  beforeAll(async () => {
    db = engine === 'PostgreSQL' ? await openDb({ url: await freshPgDatabase('live_kpis_evidence_test') }) : await openDb();
    // An old database: the v1 table with a row the old recorder wrote, then today's DDL on top.
    await db.exec(V1_DDL);
    await db.query(
      `INSERT INTO live_kpis (lane, side, window_start, window_end, samples, error_rate, p95_ms, quality_proxy) VALUES ('old', 'candidate', $1, $2, 200, 0.015, 55, 0.75)`,
      [new Date(min(0)).toISOString(), new Date(min(1)).toISOString()],
    );
    await db.exec(LIVE_KPIS_DDL);
    await db.exec(LIVE_KPIS_DDL); // idempotent
  }, 60_000);

  afterAll(async () => {
    await db?.close();
  });

  test('the recorder writes exact counts and histograms; two windows pool into their sum', async () => {
    let now = min(0);
    const rec = new LiveKpiRecorder({ db, lane: 'pool', tau: 0.5, windowMs: 60_000, now: () => now });
    const windows: KpiSample[][] = [
      [sample('baseline', { latencyMs: 20 }), sample('baseline', { latencyMs: 21, topCosine: 0.1 }), sample('baseline', { latencyMs: 5, cached: true }),
        sample('candidate', { latencyMs: 30 }), sample('candidate', { error: true, latencyMs: 400 })],
      [sample('baseline', { latencyMs: 20 }), sample('baseline', { latencyMs: 80 }),
        sample('candidate', { latencyMs: 30 }), sample('candidate', { latencyMs: 31 }), sample('candidate', { latencyMs: 2, cached: true })],
    ];
    for (const w of windows) {
      for (const s of w) rec.record(s);
      now += 60_000;
      await rec.flush();
    }
    expect(rec.status().lastError).toBeNull();

    const first = await readLiveEvidence(db, 'pool', min(0), min(1));
    const second = await readLiveEvidence(db, 'pool', min(1), min(2));
    const both = await readLiveEvidence(db, 'pool', min(0), min(2));
    expect(first.baseline).toMatchObject({ requests: 2, errors: 0, qualityN: 2, qualityHits: 1, cachedAnswers: 1 });
    expect(first.candidate).toMatchObject({ requests: 2, errors: 1, qualityN: 1, qualityHits: 1, cachedAnswers: 0 });
    expect(second.candidate).toMatchObject({ requests: 2, errors: 0, qualityN: 2, qualityHits: 2, cachedAnswers: 1 });
    for (const side of ['baseline', 'candidate'] as const) {
      for (const k of ['requests', 'errors', 'qualityN', 'qualityHits', 'cachedAnswers'] as const) {
        expect(both[side][k]).toBe(first[side][k] + second[side][k]);
      }
      const sum = histAsMap(first[side].latency);
      for (const [i, c] of histAsMap(second[side].latency)) sum.set(i, (sum.get(i) ?? 0) + c);
      expect(histAsMap(both[side].latency)).toEqual(sum);
      expect(histTotal(both[side].latency)).toBe(both[side].requests);
    }
    // 20 ms twice on the baseline: one bucket holding 2.
    expect(histAsMap(both.baseline.latency).get(bucketHolding(20, DEFAULT_LAYOUT))).toBe(2);
    expect(both).toMatchObject({ fromMs: min(0), toMs: min(2) });

    // The backtest's reading: the same rows window by window, each spanning from the previous end.
    const perWindow = await readLiveWindows(db, 'pool', min(0), min(2));
    expect(perWindow.map((w) => [w.fromMs, w.toMs])).toEqual([[min(0), min(1)], [min(1), min(2)]]);
    expect(perWindow[0]).toEqual(first);
    expect(perWindow[1]).toEqual(second);
    // And the old summary is still written and read as before (cached answers included there).
    const old = await readLiveKpis(db, 'pool', new Date(min(0)), new Date(min(2)));
    expect(old.baseline.samples).toBe(5);
    expect(old.candidate.samples).toBe(5);
  });

  test('rows from an older recorder are still read: counts from their rates, no latency evidence', async () => {
    const e = await readLiveEvidence(db, 'old', min(0), min(1));
    // 200 requests at 1.5 % errors = 3; quality over the 197 answered at 0.75 → 147.75 → 148.
    expect(e.candidate).toMatchObject({ requests: 200, errors: 3, qualityN: 197, qualityHits: 148, cachedAnswers: 0 });
    expect(histTotal(e.candidate.latency)).toBe(0);
    expect(e.baseline.requests).toBe(0);
    // A row written through today's writer without evidence (a test harness, an old replica) reads the same way.
    await recordLiveKpiWindow(db, { lane: 'old', side: 'baseline', windowStart: new Date(min(0)), windowEnd: new Date(min(1)), samples: 100, errorRate: 0, p95Ms: 20, qualityProxy: null });
    const again = await readLiveEvidence(db, 'old', min(0), min(1));
    expect(again.baseline).toMatchObject({ requests: 100, errors: 0, qualityN: 0, qualityHits: 0 });
  });

  test('a histogram that fails validation adds no latency evidence instead of failing the read', async () => {
    await db.query(
      `INSERT INTO live_kpis (lane, side, window_start, window_end, samples, error_rate, p95_ms, quality_proxy, errors, quality_n, quality_hits, cached_answers, latency_hist)
       VALUES ('bad', 'baseline', $1, $2, 3, 0, 10, 1, 0, 3, 3, 0, $3::jsonb)`,
      [new Date(min(0)).toISOString(), new Date(min(1)).toISOString(), JSON.stringify({ layout: DEFAULT_LAYOUT, index: [5, 4], counts: [1, 2] })],
    );
    const e = await readLiveEvidence(db, 'bad', min(0), min(1));
    expect(e.baseline).toMatchObject({ requests: 3, errors: 0, qualityN: 3, qualityHits: 3 });
    expect(histTotal(e.baseline.latency)).toBe(0);
  });
});
