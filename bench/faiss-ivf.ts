// IVF vs flat at serving scale: build both indexes over n clustered unit vectors, then sweep nprobe
// and print overlap@10 with the flat truth, per-query p50/p95 latency and the speed-up over flat.
// Target (issue 3): overlap@10 >= 0.95 at >= 5x flat speed.
//
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/faiss-ivf.js [--n 100000] [--json out.json]
import * as fs from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { defaultNlist, FaissIndex } from '../src/rag/faiss-index';
import { runNprobeSweep } from '../src/rag/nprobe-sweep';
import { formatZodIssues } from '../src/platform/zod-issues';
import { ClusteredVectors } from '../test/support/clustered-vectors';

const Options = z
  .object({
    n: z.coerce.number().int().min(1000),
    dim: z.coerce.number().int().min(2),
    clusters: z.coerce.number().int().min(1),
    spread: z.coerce.number().positive(),
    queries: z.coerce.number().int().min(10),
    nlist: z.coerce.number().int().min(1).optional(),
    nprobes: z.string().regex(/^\d+(,\d+)*$/, 'a comma-separated list of integers'),
    k: z.coerce.number().int().min(1),
    json: z.string().optional(),
  })
  .strict();

const program = new Command('faiss-ivf')
  .option('--n <rows>', 'vectors indexed', '100000')
  .option('--dim <d>', 'dimensions (all-MiniLM-L6-v2: 384)', '384')
  .option('--clusters <c>', 'topic clusters in the synthetic data', '2000')
  .option('--spread <s>', 'noise norm around each unit centre', '1.0')
  .option('--queries <q>', 'queries, drawn from the same distribution', '1000')
  .option('--nlist <lists>', 'IVF lists (default: defaultNlist(n))')
  .option('--nprobes <list>', 'nprobe values to sweep', '1,2,4,8,16,24,32,48,64,128')
  .option('--k <k>', 'neighbours per query', '10')
  .option('--json <file>', 'also write the figures as JSON here');

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function main(): void {
  program.parse();
  const parsed = Options.safeParse(program.opts());
  if (!parsed.success) {
    console.error(`faiss-ivf: ${formatZodIssues(parsed.error, { prefix: '--', root: '', separator: '; ' })}`);
    process.exit(2);
  }
  const o = parsed.data;
  const nlist = o.nlist ?? defaultNlist(o.n);
  console.log(`data: ${o.n} x ${o.dim} unit vectors, ${o.clusters} clusters, spread ${o.spread}; ${o.queries} queries; k=${o.k}; nlist=${nlist}`);

  let t0 = process.hrtime.bigint();
  const gen = new ClusteredVectors({ dim: o.dim, clusters: o.clusters, seed: 1 });
  const vectors = gen.sample(o.n, o.spread, 2);
  const queries = gen.sample(o.queries, o.spread, 3);
  const ids = Array.from({ length: o.n }, (_, i) => `chunk-${i}`);
  const genS = seconds(t0);

  t0 = process.hrtime.bigint();
  const flat = FaissIndex.build(vectors, ids, { kind: 'flat' });
  const flatBuildS = seconds(t0);
  t0 = process.hrtime.bigint();
  const ivf = FaissIndex.build(vectors, ids, { kind: 'ivf', nlist });
  const ivfBuildS = seconds(t0);
  console.log(`generate ${genS.toFixed(1)} s; build flat ${flatBuildS.toFixed(2)} s, ivf (train ${Math.min(o.n, 64 * nlist)} rows + add) ${ivfBuildS.toFixed(2)} s`);

  const sweep = runNprobeSweep(flat, ivf, queries, {
    nprobes: o.nprobes.split(',').map(Number),
    k: o.k,
    minOverlap: 0.95,
    minSpeedup: 5,
  });

  console.log(`flat (exact): p50 ${sweep.flat.p50Ms.toFixed(3)} ms, p95 ${sweep.flat.p95Ms.toFixed(3)} ms per query`);
  console.log('nprobe  overlap@k  p50 ms   p95 ms   speed-up p50  speed-up p95  meets');
  for (const p of sweep.points) {
    console.log(
      `${String(p.nprobe).padStart(6)}  ${p.overlapAtK.toFixed(4).padStart(9)}  ${p.p50Ms.toFixed(3).padStart(7)}  ${p.p95Ms.toFixed(3).padStart(7)}` +
        `  ${p.speedupP50.toFixed(1).padStart(11)}x  ${p.speedupP95.toFixed(1).padStart(11)}x  ${p.meetsTargets ? 'yes' : 'no'}`,
    );
  }
  console.log(`chosen: ${sweep.reason}`);

  const report = {
    data: { n: o.n, dim: o.dim, clusters: o.clusters, spread: o.spread, queries: o.queries, seed: { centres: 1, vectors: 2, queries: 3 } },
    buildSeconds: { generate: genS, flat: flatBuildS, ivf: ivfBuildS },
    sweep,
    targetMet: sweep.chosen !== null,
  };
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(report, null, 2) + '\n');
  if (!report.targetMet) process.exitCode = 1;
}

main();
