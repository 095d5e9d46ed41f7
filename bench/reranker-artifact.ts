// What the reranker as a build artifact costs and saves (issue 17 item 3): the real data plane ingests
// a FAQ subset with the real quantized MiniLM into a private PostgreSQL and builds its indexes; the
// build trains the learned reranker once (the time every data worker that evaluated the table used to
// pay on its own) and publishes it by sha256. Then a fresh state dir loads it by hash, R rounds: fetch
// from the database into an empty cache (verified) and parse, and the same from the warm cache.
//
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/reranker-artifact.js [--cases 60] [--rounds 5]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { ensurePlatformSchema } from '../src/activities';
import { DataPlane } from '../src/activities/data-plane';
import { subsetForTests } from '../src/data/dataset';
import { openDb } from '../src/platform/db';
import { startPostgres } from '../src/platform/postgres-server';
import { formatZodIssues } from '../src/platform/zod-issues';
import { defaultCandidate, lockConfig } from '../src/rag/config';
import { DEFAULT_EMBEDDER, Embedder } from '../src/rag/embed';
import type { RerankerLift } from '../src/rag/rerank';
import { loadPublishedReranker } from '../src/rag/rerank-artifact';
import { readPublishedIndexPointer } from '../src/rag/serving-index';
import { ArtifactStore } from '../src/store/artifacts';

const Options = z.strictObject({
  cases: z.coerce.number().int().min(4),
  rounds: z.coerce.number().int().min(1).max(100),
});

const program = new Command('reranker-artifact')
  .option('--cases <n>', 'FAQ cases of the subset (its documents are ingested)', '60')
  .option('--rounds <n>', 'load-by-hash rounds (each into an empty cache, then cached)', '5');

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

async function main(): Promise<void> {
  program.parse();
  const parsed = Options.safeParse(program.opts());
  if (!parsed.success) {
    console.error(`reranker-artifact: ${formatZodIssues(parsed.error, { prefix: '--', root: '', separator: '; ' })}`);
    process.exit(2);
  }
  const o = parsed.data;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-reranker-bench-'));
  const server = await startPostgres({ dir: path.join(work, 'pg'), ephemeral: true });
  const db = await openDb({ url: server.url, poolSize: 4 });
  try {
    console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load ${load()}, ${new Date().toISOString()}`);
    await ensurePlatformSchema(db);
    const [dataset, embedder] = await Promise.all([subsetForTests(o.cases), Embedder.load(DEFAULT_EMBEDDER)]);
    const locked = lockConfig(defaultCandidate({ embedder: embedder.name, tokenizer: embedder.name, tokenizer_hash: embedder.tokenizerHash }, 'v450_rrbench', 'bench'));
    const logs: string[] = [];
    const artifacts = await ArtifactStore.open(db, { cacheDir: path.join(work, 'a', 'artifacts') });
    const plane = new DataPlane({
      db, dataset, indexDir: path.join(work, 'a', 'indexes'), manifestDir: path.join(work, 'a', 'eval'), artifacts,
      loadEmbedder: async () => embedder, rerankAudit: false, log: (l) => logs.push(l),
    });
    let t0 = process.hrtime.bigint();
    const report = await plane.shadowIngest({ locked, table: locked.shadow_table, dryRun: false }, { claimant: 'bench' });
    const ingestMs = ms(t0);
    const trained = logs.find((l) => l.includes('trained with the index build'));
    if (!trained) throw new Error(`the build trained no reranker: ${logs.find((l) => l.startsWith('reranker for')) ?? 'no reranker line'}`);
    const trainMs = Number(/ in (\d+) ms;/.exec(trained)![1]);
    const pointer = (await readPublishedIndexPointer(artifacts, locked.shadow_table))!;
    const sha256 = pointer.reranker_sha256!;
    const lift = JSON.parse((await artifacts.readBytes(pointer.reranker_lift_sha256!)).toString('utf8')) as RerankerLift;
    const bytes = (await artifacts.readBytes(sha256)).length;
    console.log(`ingest + index build + reranker: ${report.documents} documents, ${report.chunks} chunks in ${(ingestMs / 1000).toFixed(1)} s`);
    console.log(`reranker training (once, in the build): ${trainMs} ms over ${dataset.cases.filter((c) => c.split === 'train').length} train + ${lift.reranked.cases} dev cases; dev MRR@10 ${lift.fused.mrr_at_10.toFixed(3)} -> ${lift.reranked.mrr_at_10.toFixed(3)}`);
    console.log(`reranker artifact: sha256:${sha256.slice(0, 16)}..., ${bytes} bytes`);

    const cold: number[] = [];
    const warm: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const store = new ArtifactStore(db, { cacheDir: path.join(work, `replica-${r}`, 'artifacts') });
      t0 = process.hrtime.bigint();
      await loadPublishedReranker({ pointer, sha256, artifacts: store, indexDir: path.join(work, `replica-${r}`, 'indexes') });
      cold.push(ms(t0));
      t0 = process.hrtime.bigint();
      await loadPublishedReranker({ pointer, sha256, artifacts: store, indexDir: path.join(work, `replica-${r}`, 'indexes') });
      warm.push(ms(t0));
    }
    console.log(`load by hash, empty cache (fetch + verify + parse): median ${median(cold).toFixed(2)} ms, max ${Math.max(...cold).toFixed(2)} ms over ${o.rounds} rounds`);
    console.log(`load by hash, cached (re-hash + parse): median ${median(warm).toFixed(2)} ms, max ${Math.max(...warm).toFixed(2)} ms`);
    console.log(`load after: ${load()}`);
  } finally {
    await db.close();
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`reranker-artifact: ${(err as Error).message}`);
  process.exit(1);
});
