// The FAISS indexes of one shadow table, built from the vectors stored in it: flat (exact, the truth)
// and IVF (serving), with nprobe chosen by a sweep as the smallest value whose overlap@10 with flat
// reaches the probe's target. Laid out as <indexDir>/<table>/<ingest_run_id>/{flat,ivf,sweep.json},
// with <indexDir>/<table>/current.json naming the latest build (so a caller that knows only the
// table finds its index). The table's learned reranker is trained here too, once per build (issue 17),
// saved as <runDir>/reranker-<vector source>.json and named in the pointer by sha256.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { quoteIdent, type Queryable } from '../platform/db';
import { formatZodIssues } from '../platform/zod-issues';
import { sha256File, type ArtifactStore } from '../store/artifacts';
import { FaissIndex } from './faiss-index';
import { buildAndSaveIndexesInChild } from './index-build-child';
import type { SweepResult } from './nprobe-sweep';
import { binaryVectorDims, decodeVectorInto, vectorRead } from './vector-codec';

export const CURRENT_FILE = 'current.json';
/** The sweep's target; the probe's threshold is 0.95 (see buildTableIndexes). */
export const SWEEP_MIN_OVERLAP = 0.99;

// Not strict: a field a newer build adds is ignored by an older worker or replica reading the pointer
// (a rolling upgrade), where a strict schema made it "unparseable" — a 503 side, or no index at all.
export const IndexPointerSchema = z.object({
  table: z.string(),
  ingest_run_id: z.string(),
  config_hash: z.string(),
  embedder: z.string(),
  rows: z.number().int().nonnegative(),
  flat: z.string(),
  ivf: z.string(),
  nlist: z.number().int().positive(),
  nprobe: z.number().int().positive(),
  overlap_at_10: z.number().nullable(),
  // Artifact-store hashes of the flat and IVF directories (absent in builds before the store).
  flat_sha256: z.string().optional(),
  ivf_sha256: z.string().optional(),
  // The nprobe sweep's result (sweep.json beside the index dirs), published by hash.
  sweep_sha256: z.string().optional(),
  // The learned reranker trained with this build (builds before it have none of these: the data plane
  // then trains lazily as it always did). reranker_absent says why a build has no reranker.
  reranker_sha256: z.string().optional(),
  reranker_source: z.string().optional(),
  reranker_lift_sha256: z.string().optional(),
  reranker_absent: z.string().optional(),
});
export type IndexPointer = z.infer<typeof IndexPointerSchema>;

/** Every (chunk_id, embedding) of a table, ordered by chunk_id, as one row-major Float32Array. */
export async function readTableVectors(db: Queryable, table: string, onPage?: (rows: number) => void | Promise<void>): Promise<{ ids: string[]; vectors: Float32Array; dim: number }> {
  const qt = quoteIdent(table);
  const dimRow = await db.query<{ d: number | null }>(`SELECT vector_dims(embedding) AS d FROM ${qt} LIMIT 1`);
  const dim = dimRow.rows[0]?.d ?? 0;
  const ids: string[] = [];
  const parts: Float32Array[] = [];
  // Small pages: on PGlite (in-process, synchronous WASM) each statement holds the event loop while it runs.
  const page = 256;
  for (let after = ''; ; ) {
    const r = await db.query<{ chunk_id: string; e: Uint8Array }>(
      `SELECT chunk_id, ${vectorRead('embedding')} AS e FROM ${qt} WHERE chunk_id > $1 ORDER BY chunk_id LIMIT $2`,
      [after, page],
    );
    const block = new Float32Array(r.rows.length * dim);
    r.rows.forEach((row, i) => {
      const dims = binaryVectorDims(row.e);
      if (dims !== dim) throw new Error(`${table}: chunk ${row.chunk_id} has ${dims} dims, expected ${dim}`);
      decodeVectorInto(row.e, block, i * dim);
      ids.push(row.chunk_id);
    });
    parts.push(block);
    await onPage?.(ids.length);
    if (r.rows.length < page) break;
    after = r.rows[r.rows.length - 1].chunk_id;
  }
  const vectors = new Float32Array(ids.length * dim);
  let off = 0;
  for (const p of parts) {
    vectors.set(p, off);
    off += p.length;
  }
  return { ids, vectors, dim };
}

export interface BuiltIndexes {
  pointer: IndexPointer;
  flat: FaissIndex;
  ivf: FaissIndex;
  sweep: SweepResult | null;
}

/** What a build's reranker step produced: a saved model (and its dev lift), or why there is none. */
export type BuildReranker = { modelFile: string; liftFile: string; source: string } | { absent: string };

/** The file a table's reranker for one vector source is kept in, beside that run's indexes. */
export function rerankerFile(indexDir: string, table: string, ingestRunId: string, source: string): string {
  return path.join(indexDir, table, ingestRunId, `reranker-${source}.json`);
}

export async function buildTableIndexes(o: {
  db: Queryable;
  table: string;
  indexDir: string;
  ingestRunId: string;
  configHash: string;
  embedder: string;
  /** Realistic query vectors (embedded questions) for choosing nprobe. */
  sweepQueries: readonly Float32Array[];
  /**
   * Overlap@10 the chosen nprobe must reach on the sweep queries. Above the probe's 0.95 on purpose:
   * nprobe is chosen on training questions and must still clear 0.95 on questions it never saw.
   */
  minOverlap?: number;
  onProgress?: (what: string) => void | Promise<void>;
  /** When given, both index directories and the pointer are published there (any machine loads them by hash). */
  artifacts?: ArtifactStore;
  /** Trains the table's reranker over the new IVF index before the pointer is written (named in it). */
  reranker?: (built: { flat: FaissIndex; ivf: FaissIndex; runDir: string }) => Promise<BuildReranker>;
}): Promise<BuiltIndexes> {
  const { ids, vectors, dim } = await readTableVectors(o.db, o.table, (n) => o.onProgress?.(`read ${n} vectors`));
  if (ids.length === 0) throw new Error(`${o.table} has no rows to index`);
  const q = new Float32Array(o.sweepQueries.length * dim);
  o.sweepQueries.forEach((v, i) => q.set(v, i * dim));
  const runDir = path.join(o.indexDir, o.table, o.ingestRunId);
  const flatDir = path.join(runDir, 'flat');
  const ivfDir = path.join(runDir, 'ivf');
  // Built, swept and saved in a child process: this thread keeps polling and heartbeating meanwhile.
  const built = await buildAndSaveIndexesInChild({
    ids, vectors, sweepQueries: q, minOverlap: o.minOverlap ?? SWEEP_MIN_OVERLAP, flatDir, ivfDir, sweepFile: path.join(runDir, 'sweep.json'),
  });
  const { nlist, nprobe, sweep } = built;
  await o.onProgress?.(`built flat and IVF${nlist} over ${ids.length} vectors`);
  const flat = FaissIndex.load(flatDir);
  const ivf = FaissIndex.load(ivfDir);
  const pointer: IndexPointer = {
    table: o.table,
    ingest_run_id: o.ingestRunId,
    config_hash: o.configHash,
    embedder: o.embedder,
    rows: ids.length,
    flat: flatDir,
    ivf: ivfDir,
    nlist,
    nprobe,
    overlap_at_10: sweep?.points.find((p) => p.nprobe === nprobe)?.overlapAtK ?? null,
  };
  const reranker = o.reranker ? await o.reranker({ flat, ivf, runDir }) : null;
  if (reranker && 'absent' in reranker) pointer.reranker_absent = reranker.absent;
  if (reranker && 'modelFile' in reranker) {
    pointer.reranker_source = reranker.source;
    // Named by hash even without a shared store: a local load checks the file against it.
    pointer.reranker_sha256 = o.artifacts ? (await o.artifacts.putFile(reranker.modelFile, 'reranker')).hash : await sha256File(reranker.modelFile);
    if (o.artifacts) pointer.reranker_lift_sha256 = (await o.artifacts.putFile(reranker.liftFile, 'reranker-lift')).hash;
  }
  if (o.artifacts) {
    pointer.flat_sha256 = await o.artifacts.putDir(flatDir, 'faiss-flat');
    pointer.ivf_sha256 = await o.artifacts.putDir(ivfDir, 'faiss-ivf');
    const sweepFile = path.join(runDir, 'sweep.json');
    if (sweep && fs.existsSync(sweepFile)) pointer.sweep_sha256 = (await o.artifacts.putFile(sweepFile, 'nprobe-sweep')).hash;
    const published = await o.artifacts.putBytes(JSON.stringify(pointer), 'index-pointer');
    await o.artifacts.setRef(indexRefName(o.table), published.hash);
    await o.onProgress?.(`published indexes: ivf sha256:${pointer.ivf_sha256.slice(0, 12)}`);
  }
  const current = path.join(o.indexDir, o.table, CURRENT_FILE);
  fs.writeFileSync(`${current}.tmp`, JSON.stringify(pointer, null, 2) + '\n');
  fs.renameSync(`${current}.tmp`, current);
  return { pointer, flat, ivf, sweep };
}

/** The latest build recorded for a table, or null when there is none (or it is unreadable). */
export function readIndexPointer(indexDir: string, table: string): IndexPointer | null {
  const file = path.join(indexDir, table, CURRENT_FILE);
  if (!fs.existsSync(file)) return null;
  try {
    const parsed = IndexPointerSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The artifact-store name under which a table's latest index pointer is published. */
export function indexRefName(table: string): string {
  return `index:${table}`;
}

/** The latest build published to the artifact store for a table, or null when none was published. */
export async function readPublishedIndexPointer(artifacts: ArtifactStore, table: string): Promise<IndexPointer | null> {
  const hash = await artifacts.getRef(indexRefName(table));
  if (!hash) return null;
  return parseIndexPointer((await artifacts.readBytes(hash)).toString('utf8'), `published index pointer sha256:${hash} of ${table}`);
}

/** A pointer's JSON text, checked; a bad one is one line naming `where` and each bad field. */
export function parseIndexPointer(text: string, where: string): IndexPointer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where} is not JSON: ${(err as Error).message}`);
  }
  const parsed = IndexPointerSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${where} does not parse: ${formatZodIssues(parsed.error, { separator: '; ' })}`);
  return parsed.data;
}
