// A table's two FAISS indexes, built, swept and saved in one synchronous step: flat (the truth) and
// IVF (what serving uses), nprobe chosen by the sweep on realistic queries. Synchronous FAISS calls
// (k-means training, adds, thousands of sweep searches) hold the calling thread for seconds at scale,
// so buildTableIndexes runs this in a child process (index-build-child.ts); it takes and returns
// plain data (typed arrays, strings) for that reason.
import * as fs from 'node:fs';
import { defaultNlist, FaissIndex } from './faiss-index';
import { runNprobeSweep, type SweepResult } from './nprobe-sweep';

export interface IndexBuildInput {
  ids: string[];
  /** Row-major, ids.length × dim, unit rows. */
  vectors: Float32Array;
  /** Row-major query vectors for the nprobe sweep; empty: no sweep (nprobe = nlist). */
  sweepQueries: Float32Array;
  minOverlap: number;
  flatDir: string;
  ivfDir: string;
  /** Where the sweep's result is written (when there is one). */
  sweepFile: string;
}

export interface IndexBuildOutput {
  nlist: number;
  nprobe: number;
  sweep: SweepResult | null;
}

/** nprobe values tried: powers of two up to nlist, and nlist itself (an exhaustive, exact search). */
export function nprobeCandidates(nlist: number): number[] {
  const out: number[] = [];
  for (let p = 1; p < nlist; p *= 2) out.push(p);
  out.push(nlist);
  return out;
}

export function buildAndSaveIndexes(o: IndexBuildInput): IndexBuildOutput {
  const flat = FaissIndex.build(o.vectors, o.ids, { kind: 'flat' });
  const nlist = defaultNlist(o.ids.length);
  const ivf = FaissIndex.build(o.vectors, o.ids, { kind: 'ivf', nlist, seed: 42 });
  const sweep = o.sweepQueries.length > 0
    ? runNprobeSweep(flat, ivf, o.sweepQueries, { nprobes: nprobeCandidates(nlist), k: 10, minOverlap: o.minOverlap, warmupQueries: 5 })
    : null;
  // Without a sweep (no queries), or if nothing met the target, search every list: exact, never wrong.
  const nprobe = sweep?.chosen?.nprobe ?? nlist;
  ivf.setNprobe(nprobe);
  flat.save(o.flatDir);
  ivf.save(o.ivfDir);
  if (sweep) fs.writeFileSync(o.sweepFile, JSON.stringify(sweep, null, 2) + '\n');
  return { nlist, nprobe, sweep };
}
