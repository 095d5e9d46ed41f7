// Near-duplicate removal one item at a time, in corpus order, for a streamed ingest: the same
// decisions as dedupNearDuplicates (src/rag/dedup.ts, LSH mode, same options) over the same sequence,
// without holding the items. What it keeps is only what a later verdict can need, for each KEPT item:
// its shingle set (8 bytes per shingle, about one per word, plus ~100 bytes of typed-array header; the
// exact Jaccard check reads it), one chain link per LSH band (4 bytes × bands) and at most one new
// band-table entry per band. Removed items and texts are never kept.
import { bandKey, DEFAULT_NUM_PERM, DEFAULT_SEED, DEFAULT_SHINGLE_SIZE, jaccard, lshParams, minhash, permutationSeeds, shingleSet, type DedupOptions } from './dedup';

export class NearDuplicateFilter {
  readonly bands: number;
  readonly rows: number;
  /** Items seen, items removed, exact Jaccard checks made. */
  total = 0;
  removed = 0;
  comparisons = 0;
  private readonly threshold: number;
  private readonly shingleSize: number;
  private readonly seeds: Uint32Array;
  /** Shingle sets of the kept items that are in the band tables, by insertion number. */
  private readonly sets: Float64Array[] = [];
  /** Per band: bucket key → the newest kept item in the bucket. */
  private readonly heads: Map<number, number>[];
  /** (item × bands + band) → the previous kept item in that bucket, -1 ends the chain. */
  private next = new Int32Array(1024);
  /** Last call that listed an item as a candidate (each candidate is checked once). */
  private stamp = new Int32Array(64);

  constructor(opts: Omit<DedupOptions, 'mode'>) {
    const { threshold } = opts;
    if (!(threshold > 0 && threshold <= 1)) throw new Error(`dedup threshold must be in (0, 1], got ${threshold}`);
    this.threshold = threshold;
    this.shingleSize = opts.shingleSize ?? DEFAULT_SHINGLE_SIZE;
    const { bands, rows } = lshParams(threshold, opts.numPerm ?? DEFAULT_NUM_PERM);
    this.bands = bands;
    this.rows = rows;
    this.seeds = permutationSeeds(bands * rows, opts.seed ?? DEFAULT_SEED);
    this.heads = Array.from({ length: bands }, () => new Map<number, number>());
  }

  /** Kept items in the band tables (an item without shingles is kept but never a candidate). */
  get indexed(): number {
    return this.sets.length;
  }

  get rate(): number {
    return this.total === 0 ? 0 : this.removed / this.total;
  }

  /** true: the text is a near-duplicate of an earlier kept item (drop it); false: it is kept. */
  isDuplicate(text: string): boolean {
    const call = ++this.total;
    const set = shingleSet(text, this.shingleSize);
    if (set.length === 0) return false;
    const { bands, rows } = this;
    const sig = minhash(set, this.seeds);
    const keys = new Array<number>(bands);
    const candidates: number[] = [];
    for (let b = 0; b < bands; b++) {
      const h = bandKey(sig, b, rows);
      keys[b] = h;
      for (let i = this.heads[b].get(h) ?? -1; i >= 0; i = this.next[i * bands + b]) {
        if (this.stamp[i] !== call) {
          this.stamp[i] = call;
          candidates.push(i);
        }
      }
    }
    candidates.sort((a, b) => a - b); // insertion order is corpus order: the earliest kept match wins
    for (const i of candidates) {
      this.comparisons++;
      if (jaccard(this.sets[i], set) >= this.threshold) {
        this.removed++;
        return true;
      }
    }
    this.insert(set, keys);
    return false;
  }

  private insert(set: Float64Array, keys: number[]): void {
    const item = this.sets.length;
    this.sets.push(set);
    const { bands } = this;
    if ((item + 1) * bands > this.next.length) this.next = grow(this.next, (item + 1) * bands);
    if (item >= this.stamp.length) this.stamp = grow(this.stamp, item + 1);
    for (let b = 0; b < bands; b++) {
      this.next[item * bands + b] = this.heads[b].get(keys[b]) ?? -1;
      this.heads[b].set(keys[b], item);
    }
  }
}

function grow(a: Int32Array, atLeast: number): Int32Array<ArrayBuffer> {
  const out = new Int32Array(Math.max(atLeast, a.length * 2));
  out.set(a);
  return out;
}
