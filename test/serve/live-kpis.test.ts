// The live-KPI arithmetic and the window rows written for the canary check, τ selection, the token
// bucket and the LRU — pure logic, on real vectors where vectors matter (unit vectors built here).
import { chooseTau } from '../../src/serve/quality-tau';
import { LiveKpiRecorder, nearDuplicateShare, pairwiseDiversity, type KpiSample } from '../../src/serve/live-kpis';
import { LruCache } from '../../src/serve/lru-cache';
import { TokenBucket } from '../../src/serve/token-bucket';

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
  return { side, configHash: side === 'baseline' ? 'b' : 'c', latencyMs: 10, error: false, topCosine: 0.8, rerankAccepted: true, nearDupShare: 0, diversityTop5: 0.5, ...over };
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
