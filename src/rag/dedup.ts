// Near-duplicate removal by Jaccard similarity over word shingles. MinHash signatures + LSH banding
// find candidate pairs in near-linear time; every candidate is then checked with the exact Jaccard of
// the two shingle sets, so LSH only decides which pairs are looked at, never the verdict.
// Greedy in input order: an item is removed when it is near a *kept* earlier item (the first one wins).

export interface DedupItem {
  id: string;
  text: string;
}

export interface DedupOptions {
  /** Remove an item when Jaccard(shingles) with an earlier kept item is ≥ threshold. */
  threshold: number;
  /** Words per shingle. 5 is the usual choice for passages: long enough that shared boilerplate
   *  phrases do not make unrelated passages look alike, short enough that an edit touches few shingles. */
  shingleSize?: number;
  /** MinHash permutations available for banding (bands × rows ≤ numPerm). */
  numPerm?: number;
  /** Seed for the hash permutations: the same seed gives the same result on every machine. */
  seed?: number;
  /** 'lsh' (default) or 'exact' (all pairs, O(n²): a reference for tests and tiny inputs). */
  mode?: 'lsh' | 'exact';
}

export interface DedupResult {
  total: number;
  keptIds: string[];
  removedIds: string[];
  /** removed id → the id of the earlier kept item it duplicates. */
  keptOf: Record<string, string>;
  /** removed / total (0 for an empty input). */
  rate: number;
  bands: number;
  rows: number;
  /** Pairs whose exact Jaccard was computed (LSH candidates); near n for near-linear behaviour. */
  comparisons: number;
}

export const DEFAULT_SHINGLE_SIZE = 5;
export const DEFAULT_NUM_PERM = 128;
export const DEFAULT_SEED = 0x5eed_0003;

// Local aliases for the hot loops: inside jest's vm sandbox every global lookup (Math.imul) goes
// through a context interceptor and costs ~1 µs, making MinHash 50× slower than under plain Node.
const imul = Math.imul;
const floor = Math.floor;

/** murmur3's 32-bit finaliser: a cheap, well-mixed bijection on uint32. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Two independent 32-bit FNV-1a style hashes of a string (combined they give ~53 bits). */
function hashString(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x9e3779b9;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = imul(a ^ c, 0x01000193);
    b = imul(b ^ c, 0x5bd1e995);
  }
  return [fmix32(a), fmix32(b ^ s.length)];
}

/** Lower-cased whitespace words → sorted unique shingle hashes (53-bit, held exactly in doubles). */
export function shingleSet(text: string, k = DEFAULT_SHINGLE_SIZE): Float64Array {
  const words = text.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
  if (words.length === 0) return new Float64Array(0);
  const wh = words.map(hashString);
  const n = Math.max(1, words.length - k + 1); // texts shorter than k words are one shingle
  const width = Math.min(k, words.length);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let a = 0x9747b28c;
    let b = 0x2545f491;
    for (let j = i; j < i + width; j++) {
      a = fmix32(imul(a, 31) ^ wh[j][0]);
      b = fmix32(imul(b, 37) ^ wh[j][1]);
    }
    out[i] = a * 0x200000 + (b >>> 11); // 32 + 21 bits < 2^53
  }
  out.sort();
  let u = 0;
  for (let i = 0; i < out.length; i++) if (i === 0 || out[i] !== out[u - 1]) out[u++] = out[i];
  return out.slice(0, u);
}

/** Exact Jaccard of two sorted unique sets. Two empty sets are not duplicates of each other (0). */
export function jaccard(x: Float64Array, y: Float64Array): number {
  if (x.length === 0 || y.length === 0) return 0;
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < x.length && j < y.length) {
    if (x[i] === y[j]) {
      inter++;
      i++;
      j++;
    } else if (x[i] < y[j]) i++;
    else j++;
  }
  return inter / (x.length + y.length - inter);
}

/**
 * Bands × rows for a threshold: the fewest false candidates (integrated over J < t) such that a pair
 * exactly at the threshold becomes a candidate with probability ≥ 0.995. At t = 0.8 with 128
 * permutations this gives 19 bands × 6 rows (P(candidate | J=0.8) ≈ 0.997, | J=0.5 ≈ 0.26).
 */
export function lshParams(threshold: number, numPerm = DEFAULT_NUM_PERM): { bands: number; rows: number } {
  const prob = (s: number, b: number, r: number) => 1 - Math.pow(1 - Math.pow(s, r), b);
  let best = { bands: 1, rows: numPerm, fp: Infinity };
  for (let b = 1; b <= numPerm; b++) {
    const r = Math.floor(numPerm / b);
    if (prob(threshold, b, r) < 0.995) continue;
    let fp = 0;
    const steps = 200;
    for (let i = 0; i < steps; i++) fp += prob(((i + 0.5) / steps) * threshold, b, r) * (threshold / steps);
    if (fp < best.fp) best = { bands: b, rows: r, fp };
  }
  return { bands: best.bands, rows: best.rows };
}

/** The LSH bucket key of band b of a MinHash signature (rows values per band). */
export function bandKey(sig: Uint32Array, b: number, rows: number): number {
  let h = b;
  for (let r = 0; r < rows; r++) h = fmix32(imul(h, 0x01000193) ^ sig[b * rows + r]);
  return h;
}

export function minhash(set: Float64Array, seeds: Uint32Array): Uint32Array {
  const sig = new Uint32Array(seeds.length).fill(0xffffffff);
  for (let i = 0; i < set.length; i++) {
    const v = set[i];
    const x = (v % 0x100000000) ^ floor(v / 0x100000000); // fold 53 bits to 32
    for (let p = 0; p < seeds.length; p++) {
      const h = fmix32(x ^ seeds[p]);
      if (h < sig[p]) sig[p] = h;
    }
  }
  return sig;
}

export function permutationSeeds(numPerm: number, seed: number): Uint32Array {
  const seeds = new Uint32Array(numPerm);
  let s = seed >>> 0;
  for (let i = 0; i < numPerm; i++) {
    s = fmix32((s + 0x9e3779b9) >>> 0);
    seeds[i] = s;
  }
  return seeds;
}

export function dedupNearDuplicates(items: readonly DedupItem[], opts: DedupOptions): DedupResult {
  const { threshold } = opts;
  if (!(threshold > 0 && threshold <= 1)) throw new Error(`dedup threshold must be in (0, 1], got ${threshold}`);
  const k = opts.shingleSize ?? DEFAULT_SHINGLE_SIZE;
  const numPerm = opts.numPerm ?? DEFAULT_NUM_PERM;
  const { bands, rows } = lshParams(threshold, numPerm);
  const sets = items.map((it) => shingleSet(it.text, k));

  const keptIds: string[] = [];
  const removedIds: string[] = [];
  const keptOf: Record<string, string> = {};
  let comparisons = 0;

  const firstMatch = (j: number, candidates: Iterable<number>): number => {
    for (const i of candidates) {
      comparisons++;
      if (jaccard(sets[i], sets[j]) >= threshold) return i;
    }
    return -1;
  };
  const decide = (j: number, match: number) => {
    if (match >= 0) {
      removedIds.push(items[j].id);
      keptOf[items[j].id] = items[match].id;
      return false;
    }
    keptIds.push(items[j].id);
    return true;
  };

  if (opts.mode === 'exact') {
    const kept: number[] = [];
    for (let j = 0; j < items.length; j++) if (decide(j, firstMatch(j, kept))) kept.push(j);
  } else {
    const seeds = permutationSeeds(bands * rows, opts.seed ?? DEFAULT_SEED);
    // One hash table per band; only kept items are inserted, so a run of verbatim copies never
    // grows a bucket and the candidate lists stay short.
    const tables = Array.from({ length: bands }, () => new Map<number, number[]>());
    const stamp = new Int32Array(items.length).fill(-1);
    for (let j = 0; j < items.length; j++) {
      if (sets[j].length === 0) {
        decide(j, -1);
        continue;
      }
      const sig = minhash(sets[j], seeds);
      const keys = new Array<number>(bands);
      const candidates: number[] = [];
      for (let b = 0; b < bands; b++) {
        const h = bandKey(sig, b, rows);
        keys[b] = h;
        for (const i of tables[b].get(h) ?? []) {
          if (stamp[i] !== j) {
            stamp[i] = j;
            candidates.push(i);
          }
        }
      }
      candidates.sort((a, b) => a - b); // the earliest kept match is the one kept
      if (decide(j, firstMatch(j, candidates))) {
        for (let b = 0; b < bands; b++) {
          const bucket = tables[b].get(keys[b]);
          if (bucket) bucket.push(j);
          else tables[b].set(keys[b], [j]);
        }
      }
    }
  }

  return {
    total: items.length,
    keptIds,
    removedIds,
    keptOf,
    rate: items.length === 0 ? 0 : removedIds.length / items.length,
    bands,
    rows,
    comparisons,
  };
}
