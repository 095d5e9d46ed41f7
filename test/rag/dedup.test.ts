// Near-duplicate removal, checked against a brute-force reference written independently here
// (string shingles, all pairs), on real prose (Debian's license texts) with controlled edits.
import * as fs from 'node:fs';
import { seededRandom as rng } from '../../src/platform/seeded-random';
import { dedupNearDuplicates, jaccard, lshParams, shingleSet, type DedupItem } from '../../src/rag/dedup';

const PROSE = ['GPL-3', 'Apache-2.0', 'MPL-2.0', 'Artistic', 'GFDL-1.3']
  .map((f) => fs.readFileSync(`/usr/share/common-licenses/${f}`, 'utf8'))
  .join('\n')
  .split(/\s+/)
  .filter(Boolean);

function passage(start: number, words: number): string[] {
  return PROSE.slice(start % (PROSE.length - words), (start % (PROSE.length - words)) + words);
}

/** Replaces `edits` random words with fresh tokens: each edit changes up to 5 shingles. */
function mutate(words: string[], edits: number, rand: () => number): string[] {
  const out = [...words];
  for (let e = 0; e < edits; e++) out[Math.floor(rand() * out.length)] = `edit${Math.floor(rand() * 1e9)}`;
  return out;
}

// ---- brute-force reference: string shingles, every pair -------------------------------------
function refShingles(text: string, k = 5): Set<string> {
  const w = text.toLowerCase().split(/\s+/).filter(Boolean);
  const out = new Set<string>();
  if (w.length === 0) return out;
  if (w.length < k) out.add(w.join(' '));
  for (let i = 0; i + k <= w.length; i++) out.add(w.slice(i, i + k).join(' '));
  return out;
}
function refJaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}
function bruteForce(items: DedupItem[], threshold: number): { kept: string[]; keptOf: Record<string, string> } {
  const sets = items.map((i) => refShingles(i.text));
  const kept: number[] = [];
  const keptOf: Record<string, string> = {};
  items.forEach((item, j) => {
    const match = kept.find((i) => refJaccard(sets[i], sets[j]) >= threshold);
    if (match === undefined) kept.push(j);
    else keptOf[item.id] = items[match].id;
  });
  return { kept: kept.map((i) => items[i].id), keptOf };
}

/** Random word sequences over the prose vocabulary (no accidental overlap), 30 % near-copies. */
function randomCorpus(n: number, seed: number, words = 100): DedupItem[] {
  const rand = rng(seed);
  const vocab = [...new Set(PROSE.map((w) => w.toLowerCase()))];
  const items: DedupItem[] = [];
  for (let i = 0; i < n; i++) {
    const base = Array.from({ length: words }, () => vocab[Math.floor(rand() * vocab.length)]);
    items.push({ id: `r${i}`, text: base.join(' ') });
    if (rand() < 0.3) items.push({ id: `r${i}_copy`, text: mutate(base, Math.floor(rand() * 6), rand).join(' ') });
  }
  return items;
}

/** Originals plus edited copies spanning Jaccard ≈ 0.4 … 1.0 around the 0.8 threshold. */
function corpus(n: number, seed: number, words = 120): DedupItem[] {
  const rand = rng(seed);
  const items: DedupItem[] = [];
  for (let i = 0; i < n; i++) {
    const base = passage(Math.floor(rand() * 1e9), words);
    items.push({ id: `d${i}`, text: base.join(' ') });
    if (rand() < 0.3) {
      const edits = Math.floor(rand() * 12); // 0 edits = verbatim copy
      items.splice(Math.floor(rand() * items.length) + 1, 0, { id: `d${i}_copy`, text: mutate(base, edits, rand).join(' ') });
    }
  }
  return items;
}

describe('shingles and Jaccard', () => {
  test('hashed shingle Jaccard equals the string-set Jaccard', () => {
    const items = corpus(60, 7);
    for (let i = 0; i + 1 < items.length; i++) {
      const a = items[i].text;
      const b = items[i + 1].text;
      expect(jaccard(shingleSet(a), shingleSet(b))).toBeCloseTo(refJaccard(refShingles(a), refShingles(b)), 12);
    }
  });

  test('case and whitespace do not matter; short texts are one shingle; empty never matches', () => {
    expect(jaccard(shingleSet('The  Quick brown\nfox jumps over'), shingleSet('the quick BROWN fox jumps over'))).toBe(1);
    expect(shingleSet('two words')).toHaveLength(1);
    expect(jaccard(shingleSet(''), shingleSet(''))).toBe(0);
  });

  test('LSH bands and rows for the thresholds in use', () => {
    expect(lshParams(0.8)).toEqual({ bands: 19, rows: 6 });
    const p = (s: number, { bands, rows }: { bands: number; rows: number }) => 1 - Math.pow(1 - Math.pow(s, rows), bands);
    for (const t of [0.5, 0.7, 0.8, 0.9, 1]) {
      const params = lshParams(t);
      expect(params.bands * params.rows).toBeLessThanOrEqual(128);
      expect(p(t, params)).toBeGreaterThanOrEqual(0.995);
    }
  });
});

describe('dedupNearDuplicates', () => {
  test.each([0.8, 0.5, 0.9, 1.0])('LSH result equals brute force at threshold %f', (threshold) => {
    const items = corpus(250, 11);
    const ref = bruteForce(items, threshold);
    const lsh = dedupNearDuplicates(items, { threshold });
    expect(lsh.keptIds).toEqual(ref.kept);
    expect(lsh.keptOf).toEqual(ref.keptOf);
    expect(lsh.removedIds.length + lsh.keptIds.length).toBe(items.length);
    expect(lsh.rate).toBeCloseTo(lsh.removedIds.length / items.length, 12);
    expect(lsh.removedIds.length).toBeGreaterThan(0);
    expect(dedupNearDuplicates(items, { threshold, mode: 'exact' }).keptOf).toEqual(ref.keptOf);
  });

  test('the test corpus straddles 0.8: edited copies on both sides of the threshold', () => {
    const items = corpus(250, 11);
    const byId = new Map(items.map((i) => [i.id, refShingles(i.text)]));
    const sims = items.filter((i) => i.id.endsWith('_copy')).map((i) => refJaccard(byId.get(i.id)!, byId.get(i.id.replace('_copy', ''))!));
    expect(sims.filter((j) => j >= 0.6 && j < 0.8).length).toBeGreaterThan(5);
    expect(sims.filter((j) => j >= 0.8 && j < 1).length).toBeGreaterThan(5);
  });

  test('keeps the first occurrence, and later copies point at it (not at each other)', () => {
    const base = passage(1000, 80);
    const items = [
      { id: 'first', text: base.join(' ') },
      { id: 'other', text: passage(5000, 80).join(' ') },
      { id: 'copy1', text: mutate(base, 1, rng(1)).join(' ') },
      { id: 'copy2', text: base.join(' ') },
    ];
    const r = dedupNearDuplicates(items, { threshold: 0.8 });
    expect(r.keptIds).toEqual(['first', 'other']);
    expect(r.keptOf).toEqual({ copy1: 'first', copy2: 'first' });
    expect(r.rate).toBe(0.5);
  });

  test('threshold 1.0 removes only identical shingle sets', () => {
    const base = passage(200, 60);
    const r = dedupNearDuplicates(
      [
        { id: 'a', text: base.join(' ') },
        { id: 'b', text: mutate(base, 1, rng(3)).join(' ') },
        { id: 'c', text: base.join('  ').toUpperCase() },
      ],
      { threshold: 1 },
    );
    expect(r.removedIds).toEqual(['c']);
  });

  test('is deterministic for a seed', () => {
    const items = corpus(200, 5);
    expect(dedupNearDuplicates(items, { threshold: 0.8 })).toEqual(dedupNearDuplicates(items, { threshold: 0.8 }));
  });

  test('scales near-linearly: 4× the items costs well under 16× (≤ 6×) in comparisons and time', () => {
    const small = randomCorpus(1000, 21);
    const large = randomCorpus(4000, 22);
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const time = (items: DedupItem[]) =>
      median(
        [0, 1, 2].map(() => {
          const t = performance.now();
          dedupNearDuplicates(items, { threshold: 0.8 });
          return performance.now() - t;
        }),
      );
    dedupNearDuplicates(small, { threshold: 0.8 }); // warm the JIT
    const ts = time(small);
    const tl = time(large);
    const cs = dedupNearDuplicates(small, { threshold: 0.8 }).comparisons;
    const cl = dedupNearDuplicates(large, { threshold: 0.8 }).comparisons;
    const ratio = tl / ts;
    process.stderr.write(`dedup: ${small.length} items ${ts.toFixed(0)} ms, ${large.length} items ${tl.toFixed(0)} ms (×${ratio.toFixed(2)}); comparisons ${cs} vs ${cl}\n`);
    expect(ratio).toBeLessThanOrEqual(6 * (large.length / small.length / 4));
    expect(cl).toBeLessThanOrEqual(6 * cs * (large.length / small.length / 4));
    expect(cl).toBeLessThan(large.length * 2); // all-pairs would be ~8 million
  });
});
