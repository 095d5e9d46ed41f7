// Paired intervals for the offline gates (pure): the guarantee they promise, checked by seeded
// simulation — with the candidate exactly at its gates' bounds, the Holm-corrected family wrongly
// fails a gate at most alpha of the time — plus determinism, Holm's levels, the "cases that would
// decide it" estimate, and the per-case payload an evaluation of 5,000 cases puts in the history.
import type { CaseResult } from '../../src/rag/evaluate';
import { perCaseScores } from '../../src/rag/evaluate';
import { gaussianFrom, seededRandom } from '../../src/platform/seeded-random';
import { BOOTSTRAP_MAX_DRAWS, bootstrapMeans, holmPairedIntervals, outcomeOf, PAIRED_RESAMPLES, PAIRED_SEED, percentileInterval, type PairedTest } from '../../src/workflows/paired-interval';

const ALPHA = 0.05;

/**
 * A case set of n cases with per-case difficulty; each side's hit is Bernoulli(p_i + shift) and its
 * F1 a noisy score around the same difficulty. Sides are drawn independently given the case, as
 * two retrieval configs on the same questions are.
 */
function simulatedPair(rand: () => number, n: number, hitGain: number, f1Delta: number) {
  const gauss = gaussianFrom(rand);
  const clamp = (x: number) => Math.min(1, Math.max(0, x));
  const b = { hit: [] as number[], f1: [] as number[] };
  const c = { hit: [] as number[], f1: [] as number[] };
  for (let i = 0; i < n; i++) {
    const p = 0.2 + 0.6 * rand(); // hit probability in [0.2, 0.8]: room for +5 pts without clipping
    const q = 0.3 + 0.4 * rand(); // F1 level in [0.3, 0.7]: clipping at 0/1 is negligible at σ 0.1
    b.hit.push(rand() < p ? 1 : 0);
    c.hit.push(rand() < p + hitGain ? 1 : 0);
    b.f1.push(clamp(q + 0.1 * gauss()));
    c.f1.push(clamp(q + f1Delta + 0.1 * gauss()));
  }
  return { b, c };
}

const HIT_BAND = { lo: 0.05, hi: 0.15 };
const F1_BAND = { lo: 0, hi: Infinity };

function familyTests(s: ReturnType<typeof simulatedPair>): PairedTest[] {
  return [
    { baseline: s.b.hit, candidate: s.c.hit, band: HIT_BAND },
    { baseline: s.b.f1, candidate: s.c.f1, band: F1_BAND },
  ];
}

test('seeded simulation: candidates exactly at their bounds are wrongly failed at most alpha of the time (Holm family)', () => {
  // The hardest case for a false fail: true hit gain exactly +5 pts (the required gain) and true F1
  // delta exactly 0 (the bound). Any fail of either gate is a false fail.
  const rand = seededRandom(20261206);
  const runs = 300;
  let familyFalseFails = 0;
  let f1Covered = 0;
  for (let r = 0; r < runs; r++) {
    const s = simulatedPair(rand, 120, 0.05, 0);
    const out = holmPairedIntervals(familyTests(s), ALPHA);
    if (out.some((x) => x.outcome === 'below')) familyFalseFails++;
    const [lo, hi] = out[1].interval;
    if (lo <= 0 && 0 <= hi) f1Covered++;
  }
  const rate = familyFalseFails / runs;
  process.stderr.write(`[paired-interval] at-the-bound candidates, n 120, ${runs} runs: family false-fail ${(rate * 100).toFixed(2)} % (α ${ALPHA}); F1 interval covered the true 0 in ${((f1Covered / runs) * 100).toFixed(1)} %\n`);
  expect(rate).toBeLessThanOrEqual(ALPHA);
  // Each interval is at level ≥ 1 − α/2 here; a percentile bootstrap at n 120 covers close to nominal.
  expect(f1Covered / runs).toBeGreaterThanOrEqual(1 - ALPHA);
});

test('seeded simulation: equal configs with sparse F1 differences (most answers identical, as in the demo) are wrongly failed at most alpha of the time', () => {
  // 40 cases; on a quarter of them the candidate's answer changes — to an independent draw from the
  // same distribution, so the configs are equally good. Few non-zero differences are where a
  // percentile bootstrap is least accurate.
  const rand = seededRandom(42);
  const runs = 300;
  let falseFails = 0;
  for (let r = 0; r < runs; r++) {
    const b = Array.from({ length: 40 }, () => Math.round(rand() * 1e4) / 1e4);
    const c = b.map((x) => (rand() < 0.25 ? Math.round(rand() * 1e4) / 1e4 : x));
    const out = holmPairedIntervals([{ baseline: b, candidate: c, band: F1_BAND }, { baseline: b, candidate: c, band: { lo: -0.02, hi: 0.02 } }], ALPHA);
    if (out[0].outcome === 'below') falseFails++;
  }
  process.stderr.write(`[paired-interval] equal configs, sparse F1 differences, n 40, ${runs} runs: F1 false-fail ${((falseFails / runs) * 100).toFixed(1)} % (α ${ALPHA})\n`);
  expect(falseFails / runs).toBeLessThanOrEqual(ALPHA);
});

test('seeded simulation: a clearly worse candidate is failed (the bound above is not vacuous)', () => {
  const rand = seededRandom(7);
  const runs = 50;
  let fails = 0;
  for (let r = 0; r < runs; r++) {
    const s = simulatedPair(rand, 200, 0.05, -0.06); // F1 6 pts worse, σ of a difference ≈ 14 pts
    if (holmPairedIntervals(familyTests(s), ALPHA)[1].outcome === 'below') fails++;
  }
  process.stderr.write(`[paired-interval] F1 6 pts worse, n 200, ${runs} runs: failed in ${((fails / runs) * 100).toFixed(0)} %\n`);
  expect(fails / runs).toBeGreaterThan(0.9);
});

test('identical input gives identical intervals; the seed drives the resampling', () => {
  const s = simulatedPair(seededRandom(11), 80, 0.02, -0.01);
  const a = holmPairedIntervals(familyTests(s), ALPHA);
  expect(holmPairedIntervals(familyTests(s), ALPHA)).toEqual(a);
  expect(holmPairedIntervals(familyTests(s), ALPHA, { seed: 12 })[1].interval).not.toEqual(a[1].interval);
});

test("Holm's levels: 1 − α/m for the most decisive gate, growing while gates decide, frozen at the first undecided one", () => {
  const n = 200;
  const zeros = new Array<number>(n).fill(0);
  const ones = new Array<number>(n).fill(1);
  const noisy = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const shifted = noisy.map((x, i) => (i % 20 === 1 ? 1 : x)); // +5 pts gain on 200 cases: straddles +5
  const out = holmPairedIntervals(
    [
      { baseline: zeros, candidate: ones, band: { lo: 0.05, hi: Infinity } }, // decided at any level
      { baseline: noisy, candidate: shifted, band: { lo: 0.05, hi: 0.15 } }, // straddles +5
      { baseline: zeros, candidate: zeros, band: { lo: -0.02, hi: 0.02 } }, // decided at any level
    ],
    ALPHA,
  );
  expect(out.map((x) => x.outcome)).toEqual(['within', 'straddles', 'within']);
  // The two decisive ones come first (tie broken by input order): α/3, then α/2; the straddling one α/1.
  expect(out[0].level).toBeCloseTo(1 - ALPHA / 3, 12);
  expect(out[2].level).toBeCloseTo(1 - ALPHA / 2, 12);
  expect(out[1].level).toBeCloseTo(1 - ALPHA, 12);
  // The observed gain sits exactly on +5 pts: no number of cases would likely move it off the bound.
  expect(out[1].mean).toBeCloseTo(0.05, 12);
  expect(out[1].casesToDecide).toBeNull();
});

test('outcome of an interval against a band: below, within, above, straddles', () => {
  const band = { lo: 0.05, hi: 0.15 };
  expect(outcomeOf([-0.1, 0.04], band)).toBe('below');
  expect(outcomeOf([0.05, 0.15], band)).toBe('within');
  expect(outcomeOf([0.55 + 0.05 - 0.55, 0.1], band)).toBe('within'); // float noise at the bound
  expect(outcomeOf([0.16, 0.2], band)).toBe('above');
  expect(outcomeOf([0.04, 0.06], band)).toBe('straddles');
  expect(outcomeOf([0.1, 0.2], band)).toBe('straddles');
});

test('"about N cases would likely decide it": at N cases of the same kind, most runs decide', () => {
  // F1 truly +3 pts against a bound of 0, σ of a difference ~14 pts: 40 cases straddle.
  const start = simulatedPair(seededRandom(5), 40, 0.05, 0.03);
  const first = holmPairedIntervals([{ baseline: start.b.f1, candidate: start.c.f1, band: F1_BAND }], ALPHA)[0];
  expect(first.outcome).toBe('straddles');
  const N = first.casesToDecide!;
  expect(N).toBeGreaterThan(40);
  const rand = seededRandom(6);
  const runs = 60;
  let decided = 0;
  for (let r = 0; r < runs; r++) {
    const s = simulatedPair(rand, N, 0.05, 0.03);
    if (holmPairedIntervals([{ baseline: s.b.f1, candidate: s.c.f1, band: F1_BAND }], ALPHA)[0].outcome !== 'straddles') decided++;
  }
  process.stderr.write(`[paired-interval] 40 cases straddle; estimate ${N} cases; at ${N} cases ${decided}/${runs} runs decide\n`);
  // The estimate uses the observed effect and spread of 40 cases, so it is rough: "likely", not 80 % exactly.
  expect(decided / runs).toBeGreaterThan(0.5);
});

test('percentile interval matches the sorted resampled means (the bench and the gates share it)', () => {
  const d = [0.1, -0.2, 0.3, 0, 0.05, -0.1, 0.2, 0.15];
  const sorted = bootstrapMeans(d, 1000, 3);
  for (let i = 1; i < sorted.length; i++) expect(sorted[i]).toBeGreaterThanOrEqual(sorted[i - 1]);
  const [lo, hi] = percentileInterval(sorted, 0.05);
  expect(lo).toBe(sorted[25]);
  expect(hi).toBe(sorted[975]);
});

test('large case sets use the normal limit, which agrees with the bootstrap itself; small ones the randomization interval', () => {
  const n = Math.floor(BOOTSTRAP_MAX_DRAWS / PAIRED_RESAMPLES) + 100;
  const s = simulatedPair(seededRandom(13), n, 0.05, 0.01);
  const [normal] = holmPairedIntervals([{ baseline: s.b.f1, candidate: s.c.f1, band: F1_BAND }], ALPHA);
  expect(normal.method).toBe('normal');
  const boot = percentileInterval(bootstrapMeans(s.c.f1.map((c, i) => c - s.b.f1[i]), PAIRED_RESAMPLES, PAIRED_SEED), ALPHA);
  const width = boot[1] - boot[0];
  expect(Math.abs(normal.interval[0] - boot[0])).toBeLessThan(0.05 * width);
  expect(Math.abs(normal.interval[1] - boot[1])).toBeLessThan(0.05 * width);
  const small = simulatedPair(seededRandom(13), 100, 0.05, 0.01);
  expect(holmPairedIntervals([{ baseline: small.b.f1, candidate: small.c.f1, band: F1_BAND }], ALPHA)[0].method).toBe('randomization');
});

// The demo's case (npm run demo on a fresh clone): 40 cases, the candidate worse on 5 (one by 87 pts)
// and better on none. A percentile bootstrap put the whole interval below 0 and failed the F1 gate;
// an exact sign test of 5 losses out of 5 changed cases gives p = 1/32 ≈ 0.031 — more than the
// Holm-adjusted tail — so the randomization interval must reach 0 and the gate stay undecided.
test('few changed cases: the sign-flip interval does not exclude 0 where an exact sign test would not', () => {
  const baseline = Array.from({ length: 40 }, () => 0.5);
  const candidate = baseline.slice();
  [0.87, 0.05, 0.04, 0.02, 0.02].forEach((loss, i) => (candidate[i * 7] -= loss));
  const [r] = holmPairedIntervals([{ baseline, candidate, band: F1_BAND }], ALPHA / 2);
  expect(r.method).toBe('randomization');
  expect(r.interval[0]).toBeLessThan(r.mean);
  expect(r.interval[1]).toBeGreaterThanOrEqual(0);
  expect(r.outcome).toBe('straddles');
  // ...while a real, consistent loss on many cases is still proven.
  const many = baseline.map((b, i) => (i % 2 === 0 ? b - 0.1 : b));
  expect(holmPairedIntervals([{ baseline, candidate: many, band: F1_BAND }], ALPHA / 2)[0].outcome).toBe('below');
});

test('per-case scores stay compact: 5,000 cases are well under 1 MB in the workflow history', () => {
  const rand = seededRandom(9);
  const results = Array.from({ length: 5000 }, (_, i) => {
    const f1 = rand();
    return { case_id: `faq-${String(5000 - i).padStart(5, '0')}-python-howto`, hit: rand() < 0.7 ? 1 : 0, f1, precision: Math.min(1, f1 + 0.1 * rand()) };
  }) as unknown as CaseResult[]; // only the fields perCaseScores reads
  const scores = perCaseScores(results);
  const bytes = Buffer.byteLength(JSON.stringify(scores));
  process.stderr.write(`[paired-interval] per-case scores of 5,000 cases: ${bytes} bytes of JSON\n`);
  expect(bytes).toBeLessThan(150_000);
  // Case-id order, whatever order the evaluation ran in.
  expect(scores.hit_rate[0]).toBe(results[4999].hit);
  expect(scores.f1[4999]).toBeCloseTo(results[0].f1, 4);
});
