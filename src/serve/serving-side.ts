// One side of the lane, ready to serve: a table (and its FAISS index) wrapped in a HybridRetriever
// with the table's trained reranker. Loaded once per (table, index, config hash) and shared by every
// pointer version that names it, so a percent change or a rollback to a loaded baseline is instant.
// The layout of indexes and rerankers is the data plane's (src/activities/data-plane.ts):
//   <indexDir>/<table>/current.json                          the latest index build (embedder, ivf path)
//   <indexDir>/<table>/<ingest_run_id>/reranker-<source>.json the learned reranker for that vector source
// A build whose pointer names its reranker by sha256 (reranker_sha256, trained with the index build) is
// served with exactly that model, fetched by hash like the index: every replica ranks alike, and a
// missing or corrupt artifact fails the load. Builds from before keep the local file lookup.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { quoteIdent, type Db } from '../platform/db';
import { DEFAULT_EMBEDDER } from '../rag/embed';
import { tableFingerprints, type TableFingerprint } from '../rag/evaluate';
import { FaissIndex } from '../rag/faiss-index';
import { LearnedReranker } from '../rag/rerank';
import { loadPublishedReranker, publishedRerankerFor } from '../rag/rerank-artifact';
import { RerankerService, type RerankerServiceOptions } from '../rag/rerank-service';
import { faissSearcher, HybridRetriever, pgvectorSearcher, type RetrievalOptionsInput, type VectorSource } from '../rag/retrieve';
import { readIndexPointer, readPublishedIndexPointer, rerankerFile } from '../rag/serving-index';
import type { ArtifactStore } from '../store/artifacts';
import type { CachingEncoder } from './caching-encoder';
import { FallbackReranker } from './rerank-outcome';
import { RowCachingChunkStore } from './row-caching-store';

export interface SideSpec {
  table: string;
  /** FAISS IVF index directory; null: the table's recorded build, else pgvector. */
  index: string | null;
  configHash: string | null;
}

export function sideKey(s: SideSpec): string {
  return `${s.table}|${s.index ?? ''}|${s.configHash ?? ''}`;
}

export class SideLoadError extends Error {
  constructor(
    readonly spec: SideSpec,
    message: string,
  ) {
    super(`cannot serve ${spec.table}${spec.index ? ` with index ${spec.index}` : ''}: ${message}`);
    this.name = 'SideLoadError';
  }
}

export interface ServingSide {
  readonly key: string;
  readonly spec: SideSpec;
  /** All the request path calls; a decorator (SideLoaderDeps.decorate) may wrap it. */
  readonly retriever: Pick<HybridRetriever, 'retrieve'>;
  readonly store: RowCachingChunkStore;
  readonly encoder: CachingEncoder;
  /** null when the table has no trained reranker (fused order is served). */
  readonly reranker: FallbackReranker | null;
  readonly rerankerStatus: string;
  /** sha256 of the published reranker served (the build's, loaded by hash); null: a local file or none. */
  readonly rerankerSha256: string | null;
  readonly vectorSource: VectorSource;
  readonly indexDir: string | null;
  readonly rows: number;
  readonly fingerprints: TableFingerprint[];
  readonly loadedAt: string;
  readonly loadMs: number;
}

export interface SideLoaderDeps {
  db: Db;
  indexDir: string;
  /** `side`: the side's table: query-embedding caches are kept per side (caching-encoder.ts). */
  encoderFor(embedderName: string, side?: string): Promise<CachingEncoder>;
  retrieval?: RetrievalOptionsInput;
  /** Options of each side's RerankerService (its cache, batching and rate limit). */
  reranker?: RerankerServiceOptions;
  /** false: serve fused order even where a trained reranker exists. */
  rerank?: boolean;
  rowCacheSize: number;
  onRowLookup?: (hits: number, misses: number) => void;
  /**
   * Wraps every loaded side before it serves: fault injection (a deliberately slow or broken side in
   * tests and game days) and instrumentation. Absent in normal operation.
   */
  decorate?: (side: ServingSide) => ServingSide;
  /**
   * The shared artifact store: a table's published build (by hash) is preferred to the local
   * current.json and fetched through the local cache, so a replica with no shared disk loads it.
   */
  artifacts?: ArtifactStore;
}

/** A pointer's index given as an artifact-store hash instead of a local path. */
export const INDEX_HASH_PREFIX = 'sha256:';

/** How many index labels are checked against the table: enough to catch an index of another table. */
const INDEX_ID_SAMPLE = 200;

export async function loadServingSide(spec: SideSpec, deps: SideLoaderDeps): Promise<ServingSide> {
  const t0 = performance.now();
  const { db } = deps;
  const exists = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`,
    [spec.table],
  );
  if (exists.rows[0].n === 0) throw new SideLoadError(spec, 'the table does not exist');
  const fingerprints = await tableFingerprints(db, spec.table);
  const rows = fingerprints.reduce((s, f) => s + f.rows, 0);
  if (rows === 0) throw new SideLoadError(spec, 'the table is empty');
  if (spec.configHash && !fingerprints.some((f) => f.config_hash === spec.configHash)) {
    throw new SideLoadError(spec, `no row has config_hash ${spec.configHash} (the table holds ${fingerprints.map((f) => f.config_hash.slice(0, 12)).join(', ')})`);
  }
  const dimRow = await db.query<{ d: number }>(`SELECT vector_dims(embedding) AS d FROM ${quoteIdent(spec.table)} LIMIT 1`);
  const dims = dimRow.rows[0].d;
  const ingestRunId = fingerprints[0].ingest_run_id;

  // The published build wins when it is of the table's current ingest run; else the local record.
  const published = deps.artifacts ? await readPublishedIndexPointer(deps.artifacts, spec.table) : null;
  const recorded = published && published.ingest_run_id === ingestRunId ? published : (readIndexPointer(deps.indexDir, spec.table) ?? published);
  const encoder = await deps.encoderFor(recorded?.embedder ?? DEFAULT_EMBEDDER, spec.table);
  if (encoder.model.dims !== dims) {
    throw new SideLoadError(spec, `the table holds ${dims}-dim vectors, embedder ${encoder.model.name} makes ${encoder.model.dims}`);
  }

  const build = recorded && recorded.ingest_run_id === ingestRunId ? recorded : null;
  let indexDir = spec.index ?? build?.ivf ?? null;
  // By hash when the pointer names one (sha256:<hex>), or the build was published and its path is not
  // on this machine: a missing or corrupt artifact fails the load (never a rebuild).
  const named = spec.index?.startsWith(INDEX_HASH_PREFIX) ? spec.index.slice(INDEX_HASH_PREFIX.length) : null;
  if (named && !deps.artifacts) throw new SideLoadError(spec, 'the index is named by hash but no artifact store is configured');
  // A path outside this side's own index dir is another machine's (a data worker's), even when this one can see it.
  const elsewhere = (p: string) => !fs.existsSync(p) || path.relative(deps.indexDir, p).startsWith('..') || path.isAbsolute(path.relative(deps.indexDir, p));
  const remote = build?.ivf_sha256 && (!spec.index || (spec.index === build.ivf && elsewhere(spec.index))) ? build.ivf_sha256 : null;
  const byHash = named ?? remote;
  if (byHash && deps.artifacts) indexDir = await deps.artifacts.fetchDir(byHash);
  let ivf: FaissIndex | null = null;
  if (indexDir) {
    try {
      ivf = FaissIndex.load(indexDir);
    } catch (err) {
      throw new SideLoadError(spec, `index ${indexDir}: ${(err as Error).message}`);
    }
    if (ivf.dim !== dims) throw new SideLoadError(spec, `index ${indexDir} has ${ivf.dim} dims, the table ${dims}`);
    await checkIndexBelongsToTable(db, spec, ivf);
  }

  const store = new RowCachingChunkStore(db, spec.table, dims, deps.rowCacheSize, deps.onRowLookup);
  // BM25's in-memory index is built before the side takes traffic, not by its first request.
  await store.lexical.warm();
  const base = new HybridRetriever({ store, encoder, vector: ivf ? faissSearcher(ivf) : pgvectorSearcher(store), options: deps.retrieval });
  let reranker: FallbackReranker | null = null;
  let rerankerStatus: string;
  const modelFile = rerankerFile(deps.indexDir, spec.table, ingestRunId, base.vector.source);
  const publishedReranker = publishedRerankerFor(build, base.vector.source);
  if (deps.rerank === false) {
    rerankerStatus = 'disabled by configuration';
  } else if (build?.reranker_absent) {
    rerankerStatus = `absent: ${build.reranker_absent} (fused order is served)`;
  } else if (build && publishedReranker) {
    try {
      reranker = new FallbackReranker(new RerankerService(await loadPublishedReranker({ pointer: build, sha256: publishedReranker, artifacts: deps.artifacts, indexDir: deps.indexDir }), deps.reranker));
    } catch (err) {
      throw new SideLoadError(spec, (err as Error).message);
    }
    rerankerStatus = 'ready';
  } else if (!fs.existsSync(modelFile)) {
    rerankerStatus = `absent: no trained reranker at ${modelFile} (fused order is served)`;
  } else {
    try {
      reranker = new FallbackReranker(new RerankerService(LearnedReranker.load(modelFile), deps.reranker));
      rerankerStatus = 'ready';
    } catch (err) {
      rerankerStatus = `failed: ${(err as Error).message} (fused order is served)`;
    }
  }
  const side: ServingSide = {
    key: sideKey(spec),
    spec,
    retriever: base.withReranker(reranker),
    store,
    encoder,
    reranker,
    rerankerStatus,
    rerankerSha256: reranker && publishedReranker ? publishedReranker : null,
    vectorSource: base.vector.source,
    indexDir,
    rows,
    fingerprints,
    loadedAt: new Date().toISOString(),
    loadMs: performance.now() - t0,
  };
  return deps.decorate ? deps.decorate(side) : side;
}

/** Refuses an index most of whose chunk ids are not rows of the table (an index of another table). */
async function checkIndexBelongsToTable(db: Db, spec: SideSpec, index: FaissIndex): Promise<void> {
  const n = index.ntotal;
  if (n === 0) throw new SideLoadError(spec, 'the index is empty');
  const step = Math.max(1, Math.floor(n / INDEX_ID_SAMPLE));
  const ids: string[] = [];
  for (let label = 0; label < n && ids.length < INDEX_ID_SAMPLE; label += step) ids.push(index.chunkIdAt(label));
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(spec.table)} WHERE chunk_id = ANY($1::text[])`, [ids]);
  const found = r.rows[0].n;
  if (found < ids.length / 2) {
    throw new SideLoadError(spec, `only ${found} of ${ids.length} sampled index ids are rows of the table: the index belongs to another table`);
  }
}
