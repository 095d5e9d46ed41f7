// Seeded synthetic canary traffic for the live judge's tests and bench/live-judge.ts: per window
// and side, request counts, errors, quality-proxy hits and a latency histogram drawn from stated
// distributions (lognormal latency). Simulated, not mocked: there is no live service in a unit test,
// and a simulation is the only way to run thousands of 48-hour bakeoffs. Counts are drawn per
// request (one uniform each); latencies are drawn straight into buckets from the lognormal's exact
// bucket probabilities (Walker's alias method), which is the histogram a recorder would have built.
import { normalCdf } from '../../src/workflows/breach-significance';
import { bucketLowerMs } from '../../src/workflows/latency-histogram';
import { DEFAULT_LAYOUT, type HistogramLayout, type SideEvidence, type WindowEvidence } from '../../src/workflows/live-evidence';
import { seededRandom } from '../../src/platform/seeded-random';

export interface SideModel {
  errorRate: number;
  /** Share of answered requests the quality proxy marks as good. */
  quality: number;
  /** Lognormal latency: median (ms) and σ of the log. */
  medianMs: number;
  sigma: number;
}

export const HEALTHY_SIDE: SideModel = { errorRate: 0.005, quality: 0.8, medianMs: 40, sigma: 0.6 };

/** True p-quantile of a lognormal side (z_0.95 = 1.6448536). */
export function lognormalQuantile(m: SideModel, z: number): number {
  return m.medianMs * Math.exp(m.sigma * z);
}

/** True share of a lognormal side's requests slower than `ms`. */
export function lognormalShareAbove(m: SideModel, ms: number): number {
  return 1 - normalCdf(Math.log(ms / m.medianMs) / m.sigma);
}

// Plain arrays, not typed ones: Jest's test environment shares the host realm's typed arrays, and
// indexing them from the test realm was ~10× slower here.
interface Alias {
  prob: number[];
  alias: number[];
}

/** Walker/Vose alias table of the lognormal's probability per bucket of `layout`. */
function aliasTable(m: SideModel, layout: HistogramLayout): Alias {
  const k = layout.buckets;
  const p: number[] = new Array<number>(k).fill(0);
  const cdf = (ms: number) => normalCdf(Math.log(ms / m.medianMs) / m.sigma);
  for (let i = 0; i < k; i++) {
    const lo = i === 0 ? 0 : cdf(bucketLowerMs(i, layout));
    const hi = i === k - 1 ? 1 : cdf(bucketLowerMs(i + 1, layout));
    p[i] = Math.max(0, hi - lo);
  }
  const sum = p.reduce((a, b) => a + b, 0);
  const scaled = p.map((x) => (x / sum) * k);
  const prob: number[] = new Array<number>(k).fill(0);
  const alias: number[] = new Array<number>(k).fill(0);
  const small: number[] = [];
  const large: number[] = [];
  scaled.forEach((x, i) => (x < 1 ? small : large).push(i));
  while (small.length && large.length) {
    const s = small.pop()!;
    const l = large.pop()!;
    prob[s] = scaled[s];
    alias[s] = l;
    scaled[l] = scaled[l] + scaled[s] - 1;
    (scaled[l] < 1 ? small : large).push(l);
  }
  for (const i of [...small, ...large]) prob[i] = 1;
  return { prob, alias };
}

export class TrafficSim {
  private readonly u: () => number;
  private readonly tables = new Map<string, Alias>();
  private readonly dense: number[];

  constructor(
    seed: number,
    private readonly layout: HistogramLayout = DEFAULT_LAYOUT,
  ) {
    this.u = seededRandom(seed);
    this.dense = new Array<number>(layout.buckets).fill(0);
  }

  /** One side's evidence for a window of `n` judged requests. */
  side(m: SideModel, n: number): SideEvidence {
    const key = `${m.medianMs}/${m.sigma}`;
    let t = this.tables.get(key);
    if (!t) this.tables.set(key, (t = aliasTable(m, this.layout)));
    const u = this.u;
    let errors = 0;
    let hits = 0;
    // One uniform per request: below errorRate an error, else a quality hit with probability quality.
    const hitBelow = m.errorRate + (1 - m.errorRate) * m.quality;
    for (let i = 0; i < n; i++) {
      const x = u();
      if (x < m.errorRate) errors++;
      else if (x < hitBelow) hits++;
    }
    const k = this.layout.buckets;
    const dense = this.dense;
    const touched: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = u() * k;
      const j = Math.floor(x);
      const b = x - j < t.prob[j] ? j : t.alias[j];
      if (dense[b] === 0) touched.push(b);
      dense[b]++;
    }
    touched.sort((a, b) => a - b);
    const counts = touched.map((b) => dense[b]);
    for (const b of touched) dense[b] = 0;
    return {
      requests: n,
      errors,
      qualityN: n - errors,
      qualityHits: hits,
      latency: { layout: this.layout, index: touched, counts },
      cachedAnswers: 0,
    };
  }

  window(baseline: SideModel, candidate: SideModel, nBaseline: number, nCandidate: number, at = 0): WindowEvidence {
    return { fromMs: at, toMs: at + 300_000, baseline: this.side(baseline, nBaseline), candidate: this.side(candidate, nCandidate) };
  }
}

/** The default ramp's split of `total` requests per window: candidate gets percent % of them. */
export function splitOf(total: number, percent: number): { baseline: number; candidate: number } {
  const candidate = Math.round((total * percent) / 100);
  return { baseline: total - candidate, candidate };
}
