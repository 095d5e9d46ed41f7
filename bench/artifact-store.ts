// Artifact-store throughput for a real FAISS IVF index directory: builds an IVF index over n clustered
// 384-dim unit vectors, saves it, then on a private PostgreSQL cluster and on PGlite (data dir on disk)
// times: put (first publication), put again (idempotent: hashing only), get into an empty cache (every
// chunk read from the database and verified) and get again (cache hit: re-verified by hash). Peak RSS
// shows that memory stays bounded by a chunk, not by the artifact.
//
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/artifact-store.js [--n 100000]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { openDb, type Db } from '../src/platform/db';
import { startPostgres } from '../src/platform/postgres-server';
import { formatZodIssues } from '../src/platform/zod-issues';
import { defaultNlist, FaissIndex } from '../src/rag/faiss-index';
import { ArtifactStore } from '../src/store/artifacts';
import { ClusteredVectors } from '../test/support/clustered-vectors';

const Options = z.strictObject({
  n: z.coerce.number().int().min(1000),
  dim: z.coerce.number().int().min(2),
  engines: z.string().regex(/^(pg|pglite)(,(pg|pglite))*$/, 'pg, pglite or both, comma-separated'),
});

const program = new Command('artifact-store')
  .option('--n <rows>', 'vectors in the IVF index', '100000')
  .option('--dim <d>', 'dimensions (all-MiniLM-L6-v2: 384)', '384')
  .option('--engines <list>', 'databases to measure', 'pg,pglite');

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const mb = (bytes: number) => bytes / 1e6;

function dirBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
}

async function measure(engine: string, db: Db, indexDir: string, work: string): Promise<void> {
  const bytes = dirBytes(indexDir);
  const line = (what: string, s: number) =>
    console.log(`${engine.padEnd(7)} ${what.padEnd(34)} ${s.toFixed(2).padStart(7)} s  ${(mb(bytes) / s).toFixed(1).padStart(7)} MB/s`);
  const writer = await ArtifactStore.open(db, { cacheDir: path.join(work, `${engine}-writer`) });
  let t0 = process.hrtime.bigint();
  const hash = await writer.putDir(indexDir, 'faiss-ivf');
  line('put (first publication)', seconds(t0));
  t0 = process.hrtime.bigint();
  const again = await writer.putDir(indexDir, 'faiss-ivf');
  line('put again (idempotent, hash only)', seconds(t0));
  if (again !== hash) throw new Error('the same directory hashed differently');
  const reader = new ArtifactStore(db, { cacheDir: path.join(work, `${engine}-reader`) });
  t0 = process.hrtime.bigint();
  const fetched = await reader.fetchDir(hash);
  line('get, empty cache (from the db)', seconds(t0));
  t0 = process.hrtime.bigint();
  await reader.fetchDir(hash);
  line('get, cached (re-verified)', seconds(t0));
  const loaded = FaissIndex.load(fetched);
  const rows = await db.query<{ n: number; b: string }>('SELECT count(*)::int AS n, sum(octet_length(bytes))::text AS b FROM artifact_chunks');
  console.log(`${engine.padEnd(7)} ${rows.rows[0].n} chunks, ${mb(Number(rows.rows[0].b)).toFixed(1)} MB stored; loaded back: ${loaded.ntotal} vectors; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

async function main(): Promise<void> {
  program.parse();
  const parsed = Options.safeParse(program.opts());
  if (!parsed.success) {
    console.error(`artifact-store: ${formatZodIssues(parsed.error, { prefix: '--', root: '', separator: '; ' })}`);
    process.exit(2);
  }
  const o = parsed.data;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-artifact-bench-'));
  try {
    const nlist = defaultNlist(o.n);
    let t0 = process.hrtime.bigint();
    const vectors = new ClusteredVectors({ dim: o.dim, clusters: 2000, seed: 1 }).sample(o.n, 1.0, 2);
    const ids = Array.from({ length: o.n }, (_, i) => `chunk-${i}`);
    const ivf = FaissIndex.build(vectors, ids, { kind: 'ivf', nlist, seed: 42 });
    const indexDir = path.join(work, 'ivf');
    ivf.save(indexDir);
    console.log(`index: IVF${nlist} over ${o.n} x ${o.dim}, ${mb(dirBytes(indexDir)).toFixed(1)} MB in ${fs.readdirSync(indexDir).length} files (built in ${seconds(t0).toFixed(1)} s)`);
    console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
    for (const engine of o.engines.split(',')) {
      t0 = process.hrtime.bigint();
      if (engine === 'pg') {
        const server = await startPostgres({ dir: path.join(work, 'pg'), ephemeral: true });
        const db = await openDb({ url: server.url });
        try {
          await measure('pg', db, indexDir, work);
        } finally {
          await db.close();
          await server.stop();
        }
      } else {
        const db = await openDb({ dataDir: path.join(work, 'pglite') });
        try {
          await measure('pglite', db, indexDir, work);
        } finally {
          await db.close();
        }
      }
    }
    console.log(`load after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`artifact-store: ${(err as Error).message}`);
  process.exit(1);
});
