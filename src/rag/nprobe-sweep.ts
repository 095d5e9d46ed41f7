// nprobe sweep: for each candidate nprobe, how much of the exact (flat) top-k the IVF index finds
// (overlap@k) and how long one query takes (p50/p95, one query per search call, as serving does).
// Picks the smallest nprobe that meets the targets. The result is plain JSON; plotting is elsewhere.
import { z } from 'zod';
import { FaissIndex, FaissIndexError, overlapAtK } from './faiss-index';
import { formatZodIssues } from '../platform/zod-issues';

export const SweepOptions = z
  .object({
    nprobes: z.array(z.number().int().min(1)).min(1, 'give at least one nprobe value'),
    k: z.number().int().min(1).default(10),
    /** Minimum overlap@k with the flat index (DESIGN §1 probe: 0.95). */
    minOverlap: z.number().min(0).max(1).default(0.95),
    /** Optional latency ceiling for the IVF p95, in milliseconds. */
    maxP95Ms: z.number().positive().optional(),
    /** Optional floor for flat p95 / IVF p95. */
    minSpeedup: z.number().positive().optional(),
    /** Untimed searches first, so page faults and lazy allocations do not land in the figures. */
    warmupQueries: z.number().int().min(0).default(20),
  })
  .strict();
export type SweepOptions = z.input<typeof SweepOptions>;

export interface LatencySummary {
  p50Ms: number;
  p95Ms: number;
  meanMs: number;
}

export interface SweepPoint extends LatencySummary {
  nprobe: number;
  overlapAtK: number;
  /** flat p50 / this p50 */
  speedupP50: number;
  /** flat p95 / this p95 */
  speedupP95: number;
  meetsTargets: boolean;
}

export interface SweepResult {
  k: number;
  queries: number;
  ntotal: number;
  dim: number;
  nlist: number;
  targets: { minOverlap: number; maxP95Ms: number | null; minSpeedup: number | null };
  flat: LatencySummary;
  points: SweepPoint[];
  /** nprobe values above nlist, which cannot be probed. */
  skipped: number[];
  /** The smallest nprobe meeting every target, or null with the reason. */
  chosen: { nprobe: number; overlapAtK: number; p95Ms: number; speedupP95: number } | null;
  reason: string;
}

/**
 * Sweeps nprobe on `ivf` against `flat` (the same vectors). The IVF index's nprobe is restored
 * afterwards; apply result.chosen.nprobe yourself.
 */
export function runNprobeSweep(flat: FaissIndex, ivf: FaissIndex, queries: Float32Array, options: SweepOptions): SweepResult {
  const parsed = SweepOptions.safeParse(options);
  if (!parsed.success) {
    throw new FaissIndexError(`invalid sweep options: ${formatZodIssues(parsed.error, { root: 'options', separator: '; ' })}`);
  }
  const opts = parsed.data;
  const nlist = ivf.nlist;
  if (flat.kind !== 'flat' || nlist === null) throw new FaissIndexError('runNprobeSweep needs a flat index and an ivf index');
  if (flat.ntotal !== ivf.ntotal || flat.dim !== ivf.dim) {
    throw new FaissIndexError(`flat (${flat.ntotal}×${flat.dim}) and ivf (${ivf.ntotal}×${ivf.dim}) do not index the same vectors`);
  }
  if (queries.length === 0 || queries.length % flat.dim !== 0) {
    throw new FaissIndexError(`queries must be a non-empty Float32Array of rows of ${flat.dim} dimensions`);
  }
  const values = [...new Set(opts.nprobes)].sort((a, b) => a - b);
  const usable = values.filter((n) => n <= nlist);
  const skipped = values.filter((n) => n > nlist);
  if (usable.length === 0) throw new FaissIndexError(`every nprobe value exceeds nlist ${nlist}`);

  const truth = timedSearches(flat, queries, opts.k, opts.warmupQueries);
  const original = ivf.nprobe ?? 1;
  const points: SweepPoint[] = [];
  try {
    for (const nprobe of usable) {
      ivf.setNprobe(nprobe);
      const run = timedSearches(ivf, queries, opts.k, opts.warmupQueries);
      const overlap = overlapAtK(run.labels, truth.labels, opts.k);
      const speedupP95 = truth.latency.p95Ms / run.latency.p95Ms;
      const meetsTargets =
        overlap >= opts.minOverlap &&
        (opts.maxP95Ms === undefined || run.latency.p95Ms <= opts.maxP95Ms) &&
        (opts.minSpeedup === undefined || speedupP95 >= opts.minSpeedup);
      const speedupP50 = truth.latency.p50Ms / run.latency.p50Ms;
      points.push({ nprobe, overlapAtK: overlap, ...run.latency, speedupP50, speedupP95, meetsTargets });
    }
  } finally {
    ivf.setNprobe(original);
  }

  const best = points.find((p) => p.meetsTargets);
  const targets = { minOverlap: opts.minOverlap, maxP95Ms: opts.maxP95Ms ?? null, minSpeedup: opts.minSpeedup ?? null };
  return {
    k: opts.k,
    queries: queries.length / flat.dim,
    ntotal: flat.ntotal,
    dim: flat.dim,
    nlist,
    targets,
    flat: truth.latency,
    points,
    skipped,
    chosen: best ? { nprobe: best.nprobe, overlapAtK: best.overlapAtK, p95Ms: best.p95Ms, speedupP95: best.speedupP95 } : null,
    reason: best
      ? `nprobe ${best.nprobe} is the smallest meeting overlap@${opts.k} >= ${opts.minOverlap}` +
        (opts.maxP95Ms !== undefined ? `, p95 <= ${opts.maxP95Ms} ms` : '') +
        (opts.minSpeedup !== undefined ? `, speed-up >= ${opts.minSpeedup}x` : '')
      : `no swept nprobe (${usable.join(', ')}) meets the targets; best overlap@${opts.k} was ` +
        `${Math.max(...points.map((p) => p.overlapAtK)).toFixed(3)}`,
  };
}

/** One search call per query, timed, as the serving path does. */
function timedSearches(index: FaissIndex, queries: Float32Array, k: number, warmup: number): { labels: number[][]; latency: LatencySummary } {
  const dim = index.dim;
  const nq = queries.length / dim;
  for (let i = 0; i < Math.min(warmup, nq); i++) index.searchLabels(queries.subarray(i * dim, (i + 1) * dim), k);
  const labels: number[][] = [];
  const ms: number[] = [];
  for (let q = 0; q < nq; q++) {
    const query = queries.subarray(q * dim, (q + 1) * dim);
    const t0 = process.hrtime.bigint();
    const result = index.searchLabels(query, k);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    labels.push(result.labels[0]);
  }
  return { labels, latency: summarize(ms) };
}

export function summarize(ms: readonly number[]): LatencySummary {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  return { p50Ms: at(0.5), p95Ms: at(0.95), meanMs: sorted.reduce((s, x) => s + x, 0) / sorted.length };
}
