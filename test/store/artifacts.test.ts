/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// The artifact store against a real PostgreSQL cluster (BAKEOFF_TEST_PG_URL from the global setup)
// and in-process PGlite; then two "machines" — two state directories sharing no files, one database —
// where one builds and publishes a real FAISS index over a real MiniLM ingest and the other serves it
// by hash with the same top-k.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRuntime } from '../../src/activities/runtime';
import type { Dataset } from '../../src/data/dataset';
import { openDb, type Db } from '../../src/platform/db';
import type { LockedConfig } from '../../src/rag/config';
import { FaissIndex } from '../../src/rag/faiss-index';
import { memoryIndexCached } from '../../src/rag/lexical-memory-index';
import { buildTableIndexes, indexRefName, readIndexPointer } from '../../src/rag/serving-index';
import { EncoderPool } from '../../src/serve/caching-encoder';
import { loadServingSide, type SideLoaderDeps } from '../../src/serve/serving-side';
import { ArtifactCorrupt, ArtifactMissing, ArtifactStore, sha256Hex } from '../../src/store/artifacts';
import { freshPgDatabase } from '../support/serve-fixture';
import { baselineConfig, candidateConfig, faqSubset, ingestInto, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

const tmpDirs: string[] = [];
function tmpDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `bakeoff-artifacts-${tag}-`));
  tmpDirs.push(d);
  return d;
}

let pg: Db;
let pgUrl: string;
let lite: Db;

beforeAll(async () => {
  pgUrl = await freshPgDatabase('artifact_store_test');
  pg = await openDb({ url: pgUrl });
  lite = await openDb();
});

afterAll(async () => {
  await pg?.close();
  await lite?.close();
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** 10 000 pseudo-random bytes of a fixed seed (xorshift), so chunks differ from each other. */
function payload(seed: number, n = 10_000): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe.each([
  ['PostgreSQL', () => pg],
  ['PGlite', () => lite],
])('artifact store on %s', (_name, db) => {
  test('put twice keeps one copy; another cache reads the same bytes, verified', async () => {
    const bytes = payload(_name.length);
    const a = await ArtifactStore.open(db(), { cacheDir: tmpDir('a'), chunkBytes: 4096 });
    const first = await a.putBytes(bytes, 'test-blob');
    const second = await a.putBytes(bytes, 'test-blob');
    expect(first).toEqual({ hash: sha256Hex(bytes), bytes: 10_000, stored: true });
    expect(second).toEqual({ ...first, stored: false });
    const rows = await db().query<{ n: number; c: number }>(
      'SELECT (SELECT count(*)::int FROM artifacts WHERE hash = $1) AS n, (SELECT count(*)::int FROM artifact_chunks WHERE hash = $1) AS c',
      [first.hash],
    );
    expect(rows.rows[0]).toEqual({ n: 1, c: 3 }); // 4096 + 4096 + 1808

    const b = new ArtifactStore(db(), { cacheDir: tmpDir('b'), chunkBytes: 4096 });
    expect((await b.readBytes(first.hash)).equals(bytes)).toBe(true);
    // A damaged cache entry is not served: the store's verified copy replaces it.
    const cached = path.join(b.cacheDir, first.hash);
    fs.writeFileSync(cached, Buffer.concat([bytes.subarray(0, 100), Buffer.from('x')]));
    expect((await b.readBytes(first.hash)).equals(bytes)).toBe(true);
  });

  test('a corrupted chunk is ArtifactCorrupt, a deleted chunk too, an unknown hash ArtifactMissing', async () => {
    const bytes = payload(_name.length + 7);
    const a = await ArtifactStore.open(db(), { cacheDir: tmpDir('c'), chunkBytes: 4096 });
    const { hash } = await a.putBytes(bytes, 'test-blob');
    await db().query("UPDATE artifact_chunks SET bytes = set_byte(bytes, 10, (get_byte(bytes, 10) + 1) % 256) WHERE hash = $1 AND seq = 1", [hash]);
    const fresh = () => new ArtifactStore(db(), { cacheDir: tmpDir('d') });
    await expect(fresh().fetch(hash)).rejects.toThrow(ArtifactCorrupt);
    await expect(fresh().fetch(hash)).rejects.toThrow(new RegExp(`^artifact sha256:${hash} is corrupt: test-blob: the stored 10000 bytes`));
    await db().query('DELETE FROM artifact_chunks WHERE hash = $1 AND seq = 2', [hash]);
    await expect(fresh().fetch(hash)).rejects.toThrow('chunk 2 of 3 is missing');

    const unknown = sha256Hex('never stored');
    await expect(fresh().fetch(unknown)).rejects.toThrow(ArtifactMissing);
    await expect(fresh().fetch(unknown)).rejects.toThrow(`artifact sha256:${unknown} is missing: the artifact store (table artifacts) does not hold it`);
  });
});

describe('two state directories sharing no files, one PostgreSQL', () => {
  let dataset: Dataset;
  let embedder: MemoEmbedder;
  let config: LockedConfig;

  beforeAll(async () => {
    dataset = await faqSubset(16);
    embedder = new MemoEmbedder(await realEmbedder());
    config = candidateConfig(embedder);
    await ingestInto(pg, config, dataset, embedder);
  }, 300_000);

  const depsFor = (home: string, artifacts?: ArtifactStore): SideLoaderDeps => ({
    db: pg,
    indexDir: path.join(home, 'indexes'),
    encoderFor: (n) => new EncoderPool(async () => embedder, 0).encoderFor(n),
    rowCacheSize: 0,
    rerank: false,
    artifacts,
  });

  test('machine A builds and publishes; machine B loads by hash and answers the same top-k; a corrupt chunk fails the load', async () => {
    const homeA = tmpDir('home-a');
    const homeB = tmpDir('home-b');
    const storeA = await ArtifactStore.open(pg, { cacheDir: path.join(homeA, 'artifacts') });
    const queries = await embedder.embed(dataset.cases.map((c) => c.question));
    const built = await buildTableIndexes({
      db: pg, table: config.shadow_table, indexDir: path.join(homeA, 'indexes'), ingestRunId: config.ingest_run_id,
      configHash: config.config_hash, embedder: embedder.name, sweepQueries: queries, artifacts: storeA,
    });
    expect(built.pointer.ivf_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(built.pointer.flat_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await storeA.getRef(indexRefName(config.shadow_table))).toMatch(/^[0-9a-f]{64}$/);

    // B has no current.json and no index files: without the store it serves pgvector, with it the IVF.
    expect(readIndexPointer(path.join(homeB, 'indexes'), config.shadow_table)).toBeNull();
    const storeB = new ArtifactStore(pg, { cacheDir: path.join(homeB, 'artifacts') });
    const spec = { table: config.shadow_table, index: null, configHash: config.config_hash };
    const sideA = await loadServingSide(spec, depsFor(homeA));
    const sideB = await loadServingSide(spec, depsFor(homeB, storeB));
    expect(sideA.vectorSource).toBe('faiss-ivf');
    expect(sideB.vectorSource).toBe('faiss-ivf');
    expect(sideA.indexDir!.startsWith(homeA)).toBe(true);
    expect(sideB.indexDir!.startsWith(path.join(homeB, 'artifacts'))).toBe(true);
    const withoutStore = await loadServingSide(spec, depsFor(tmpDir('home-c')));
    expect(withoutStore.vectorSource).toBe('pgvector');

    // Same index: same dense top-10 for every question, and the same served snapshot.
    const ivfA = FaissIndex.load(sideA.indexDir!);
    const ivfB = FaissIndex.load(sideB.indexDir!);
    const q = new Float32Array(queries.length * embedder.dims);
    queries.forEach((v, i) => q.set(v, i * embedder.dims));
    const topA = ivfA.search(q, 10).map((hits) => hits.map((h) => h.chunkId));
    expect(topA.every((t) => t.length === Math.min(10, ivfA.ntotal))).toBe(true);
    expect(ivfB.search(q, 10).map((hits) => hits.map((h) => h.chunkId))).toEqual(topA);
    for (const question of dataset.cases.slice(0, 4).map((c) => c.question)) {
      const [a, b] = await Promise.all([sideA.retriever.retrieve(question), sideB.retriever.retrieve(question)]);
      expect(b.snapshot.map((c) => c.chunk_id)).toEqual(a.snapshot.map((c) => c.chunk_id));
      expect(a.snapshot.length).toBeGreaterThan(0);
    }

    // A pointer may name the index by hash (sha256:<hex>) instead of a path.
    const byHash = await loadServingSide({ ...spec, index: `sha256:${built.pointer.ivf_sha256}` }, depsFor(homeB, storeB));
    expect(byHash.indexDir).toBe(sideB.indexDir);
    const unknown = sha256Hex('no such index');
    await expect(loadServingSide({ ...spec, index: `sha256:${unknown}` }, depsFor(homeB, storeB))).rejects.toThrow(ArtifactMissing);

    // A third machine after one chunk of the IVF's index.faiss was damaged in the database.
    const files = JSON.parse((await storeA.readBytes(built.pointer.ivf_sha256!)).toString('utf8')) as { files: [string, string][] };
    const faissHash = files.files.find(([n]) => n === 'index.faiss')![1];
    await pg.query('UPDATE artifact_chunks SET bytes = set_byte(bytes, 0, (get_byte(bytes, 0) + 1) % 256) WHERE hash = $1 AND seq = 0', [faissHash]);
    const storeD = new ArtifactStore(pg, { cacheDir: path.join(tmpDir('home-d'), 'artifacts') });
    await expect(loadServingSide(spec, depsFor(tmpDir('home-d'), storeD))).rejects.toThrow(ArtifactCorrupt);
    // B's verified cache still serves (its copy hashes to the name); the database copy is what is broken.
    expect((await loadServingSide(spec, depsFor(homeB, storeB))).vectorSource).toBe('faiss-ivf');
  }, 300_000);

  test("a worker's runtime on PostgreSQL publishes its ingest's index; another home serves it by hash", async () => {
    const home = tmpDir('home-e');
    // The runtime a worker builds (createRuntime with DATABASE_URL) opens the artifact store itself.
    const runtime = await createRuntime({
      databaseUrl: pgUrl,
      dataPlane: { dataset, indexDir: path.join(home, 'indexes'), manifestDir: path.join(home, 'eval'), loadEmbedder: async () => embedder, rerankAudit: false },
    });
    const base = baselineConfig(embedder);
    const report = await runtime.plane.shadowIngest({ locked: base, table: base.shadow_table, dryRun: false }).finally(() => runtime.close());
    const local = readIndexPointer(path.join(home, 'indexes'), base.shadow_table);
    expect(local?.ivf).toBe(report.index?.ivf);
    expect(local?.ivf_sha256).toMatch(/^[0-9a-f]{64}$/);
    const other = tmpDir('home-f');
    const side = await loadServingSide(
      { table: base.shadow_table, index: null, configHash: base.config_hash },
      depsFor(other, new ArtifactStore(pg, { cacheDir: path.join(other, 'artifacts') })),
    );
    expect(side.vectorSource).toBe('faiss-ivf');
    expect(side.indexDir).toBe(path.join(other, 'artifacts', 'dirs', local!.ivf_sha256!));
    // The side's BM25 index was built while it loaded, not by its first request.
    expect(memoryIndexCached(pg, base.shadow_table)).toBe(true);
  }, 300_000);
});
