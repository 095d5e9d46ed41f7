// Adopting a team's existing chunk table as a lane's live baseline, without re-chunking or re-embedding
// (issue 16 item 4). The table has the seeds' document_chunks schema (id, doc_id, chunk_index,
// embedding_text, bm25_text, embedding_token_count, chunk_version, ingest_run_id, a pgvector column).
// It is checked first — columns, vector dimensions against the config's embedder, unit norms (the
// indexes are inner product = cosine only on unit vectors) — and every problem is one line; nothing is
// written unless all checks pass. Then its rows are copied, vectors as stored, into the config's own
// table in the data plane's schema (the team's table is only read), the FAISS indexes are built from
// those vectors, the config is registered and the lane's pointer names the copy.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { quoteIdent, SAFE_IDENTIFIER, type Db } from '../platform/db';
import { ChunkStore } from '../rag/chunk-store';
import { ConfigRegistry } from '../rag/config-registry';
import type { LockedConfig } from '../rag/config';
import { lexicalRankerOf } from '../rag/lexical-ranker';
import { buildTableIndexes } from '../rag/serving-index';
import { decodeVector, vectorRead } from '../rag/vector-codec';
import { bumpCacheEpoch, ensurePointerSchema, initLane, readPointer, restoreBaselinePointer } from '../store/pointer';
import type { DataPlane } from './data-plane';
import type { PointerState } from './types';

/** The seeds' document_chunks columns besides the vector, and what kind each must be. */
export const ADOPT_COLUMNS = {
  id: 'any',
  doc_id: 'text',
  chunk_index: 'integer',
  embedding_text: 'text',
  bm25_text: 'text',
  embedding_token_count: 'integer',
  chunk_version: 'text',
  ingest_run_id: 'text',
} as const;

/** |‖v‖ − 1| at or above this is not unit length (the bound ingest enforces on what it stores). */
export const ADOPT_NORM_TOLERANCE = 1e-3;
/** Stored vectors used as queries for the nprobe sweep (the table comes without questions). */
const SWEEP_QUERIES = 200;

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);
const TEXT_TYPES = new Set(['text', 'character varying', 'character']);

/** Every problem found, one line each; the message lists them under one heading. */
export class AdoptRefused extends Error {
  constructor(
    readonly table: string,
    readonly problems: string[],
  ) {
    super(`nothing adopted: ${problems.length === 1 ? problems[0] : `${problems.length} problems with ${table}:\n${problems.map((p) => `  ${p}`).join('\n')}`}`);
    this.name = 'AdoptRefused';
  }
}

export interface AdoptOptions {
  db: Db;
  plane: DataPlane;
  lane: string;
  table: string;
  locked: LockedConfig;
  /** The pgvector column; default: the table's only one. */
  vectorColumn?: string;
  /** Replace an existing lane's live pointer (refused while a bakeoff has a candidate or mirror on it). */
  force?: boolean;
  by: string;
  log?: (line: string) => void;
}

export interface AdoptReport {
  lane: string;
  sourceTable: string;
  vectorColumn: string;
  liveTable: string;
  rows: number;
  documents: number;
  dims: number;
  index: { flat: string; ivf: string; nlist: number; nprobe: number };
  /** Things worth knowing that do not stop the adoption (mixed chunk versions, chunks over the model's limit). */
  notes: string[];
  pointer: PointerState;
  replaced: PointerState | null;
}

interface ColumnInfo {
  column_name: string;
  data_type: string;
  udt_name: string;
}

/** Columns: the seeds' names with usable types and one pgvector column. Returns the vector column or the problems. */
async function checkColumns(db: Db, table: string, wanted?: string): Promise<{ vector: string | null; problems: string[] }> {
  const r = await db.query<ColumnInfo>(
    `SELECT column_name, data_type, udt_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  if (r.rows.length === 0) return { vector: null, problems: [`table ${table} does not exist`] };
  const cols = new Map(r.rows.map((c) => [c.column_name, c]));
  const problems: string[] = [];
  for (const [name, kind] of Object.entries(ADOPT_COLUMNS)) {
    const c = cols.get(name);
    if (!c) problems.push(`${table}: column ${name} is missing (expected the document_chunks schema: ${Object.keys(ADOPT_COLUMNS).join(', ')}, plus a pgvector column)`);
    else if (kind === 'integer' && !INTEGER_TYPES.has(c.data_type)) problems.push(`${table}.${name}: type ${c.data_type}, expected an integer`);
    else if (kind === 'text' && !TEXT_TYPES.has(c.data_type)) problems.push(`${table}.${name}: type ${c.data_type}, expected text`);
  }
  const vectors = r.rows.filter((c) => c.udt_name === 'vector').map((c) => c.column_name);
  let vector: string | null = null;
  if (wanted !== undefined) {
    if (!cols.has(wanted)) problems.push(`${table}: --vector-column ${wanted} does not exist`);
    else if (!vectors.includes(wanted)) problems.push(`${table}.${wanted}: type ${cols.get(wanted)!.data_type}, expected a pgvector vector`);
    else vector = wanted;
  } else if (vectors.length === 0) problems.push(`${table}: no pgvector column (the chunk embeddings)`);
  else if (vectors.length > 1) problems.push(`${table}: several pgvector columns (${vectors.join(', ')}): name one with --vector-column`);
  else vector = vectors[0];
  return { vector, problems };
}

interface RowStats {
  rows: number;
  documents: number;
  null_fields: Record<string, number>;
  duplicate_ids: number;
  duplicate_example: string | null;
  wrong_dims: number;
  dims_seen: number[];
  not_unit: number;
  not_unit_example: { id: string; norm: number } | null;
  over_limit: number;
  chunk_versions: string[];
  ingest_run_ids: string[];
}

async function rowStats(db: Db, table: string, vector: string, dims: number, maxTokens: number): Promise<RowStats> {
  const qt = quoteIdent(table);
  const v = quoteIdent(vector);
  const counts = await db.query<Record<string, string | number | null>>(
    `SELECT count(*)::int AS rows, count(DISTINCT doc_id)::int AS documents,
            count(*) FILTER (WHERE id IS NULL)::int AS null_id, count(*) FILTER (WHERE doc_id IS NULL)::int AS null_doc_id,
            count(*) FILTER (WHERE chunk_index IS NULL)::int AS null_chunk_index,
            count(*) FILTER (WHERE embedding_text IS NULL)::int AS null_embedding_text,
            count(*) FILTER (WHERE bm25_text IS NULL)::int AS null_bm25_text,
            count(*) FILTER (WHERE embedding_token_count IS NULL)::int AS null_embedding_token_count,
            count(*) FILTER (WHERE ${v} IS NULL)::int AS null_vector,
            (count(*) - count(DISTINCT id::text))::int AS duplicate_ids,
            count(*) FILTER (WHERE ${v} IS NOT NULL AND vector_dims(${v}) <> $1)::int AS wrong_dims,
            count(*) FILTER (WHERE ${v} IS NOT NULL AND abs(vector_norm(${v}) - 1) >= $2)::int AS not_unit,
            count(*) FILTER (WHERE embedding_token_count > $3)::int AS over_limit
       FROM ${qt}`,
    [dims, ADOPT_NORM_TOLERANCE, maxTokens],
  );
  const c = counts.rows[0];
  const num = (k: string) => Number(c[k] ?? 0);
  const dimsSeen = await db.query<{ d: number }>(`SELECT DISTINCT vector_dims(${v}) AS d FROM ${qt} WHERE ${v} IS NOT NULL ORDER BY 1 LIMIT 5`);
  const dup = num('duplicate_ids') > 0 ? await db.query<{ id: string }>(`SELECT id::text AS id FROM ${qt} GROUP BY id::text HAVING count(*) > 1 ORDER BY 1 LIMIT 1`) : null;
  const bad =
    num('not_unit') > 0
      ? await db.query<{ id: string; norm: number }>(
          `SELECT id::text AS id, vector_norm(${v})::float8 AS norm FROM ${qt} WHERE ${v} IS NOT NULL AND abs(vector_norm(${v}) - 1) >= $1 ORDER BY abs(vector_norm(${v}) - 1) DESC, id::text LIMIT 1`,
          [ADOPT_NORM_TOLERANCE],
        )
      : null;
  const versions = await db.query<{ s: string }>(`SELECT DISTINCT chunk_version::text AS s FROM ${qt} ORDER BY 1 LIMIT 6`);
  const runs = await db.query<{ s: string }>(`SELECT DISTINCT ingest_run_id::text AS s FROM ${qt} ORDER BY 1 LIMIT 6`);
  const nullFields: Record<string, number> = {};
  for (const f of ['id', 'doc_id', 'chunk_index', 'embedding_text', 'bm25_text', 'embedding_token_count']) if (num(`null_${f}`) > 0) nullFields[f] = num(`null_${f}`);
  if (num('null_vector') > 0) nullFields[vector] = num('null_vector');
  return {
    rows: num('rows'),
    documents: num('documents'),
    null_fields: nullFields,
    duplicate_ids: num('duplicate_ids'),
    duplicate_example: dup?.rows[0]?.id ?? null,
    wrong_dims: num('wrong_dims'),
    dims_seen: dimsSeen.rows.map((r) => Number(r.d)),
    not_unit: num('not_unit'),
    not_unit_example: bad?.rows[0] ? { id: bad.rows[0].id, norm: Number(bad.rows[0].norm) } : null,
    over_limit: num('over_limit'),
    chunk_versions: versions.rows.map((r) => r.s),
    ingest_run_ids: runs.rows.map((r) => r.s),
  };
}

function rowProblems(table: string, vector: string, s: RowStats, embedder: { name: string; dims: number }): string[] {
  const problems: string[] = [];
  if (s.rows === 0) return [`${table} is empty: there is nothing to serve`];
  for (const [field, n] of Object.entries(s.null_fields)) problems.push(`${table}.${field}: ${n} of ${s.rows} rows are NULL`);
  if (s.duplicate_ids > 0) problems.push(`${table}.id: ${s.duplicate_ids} duplicate ids (e.g. ${JSON.stringify(s.duplicate_example)}); each chunk needs its own id`);
  if (s.wrong_dims > 0) {
    problems.push(`${table}.${vector}: ${s.wrong_dims} of ${s.rows} vectors have ${s.dims_seen.filter((d) => d !== embedder.dims).join('/')} dimensions; the config's embedder ${embedder.name} makes ${embedder.dims}`);
  }
  if (s.not_unit > 0) {
    const e = s.not_unit_example!;
    problems.push(
      `${table}.${vector}: ${s.not_unit} of ${s.rows} vectors are not unit length (|‖v‖−1| ≥ ${ADOPT_NORM_TOLERANCE}; id ${JSON.stringify(e.id)} has norm ${e.norm.toPrecision(4)}): ` +
        `the inner-product indexes rank by cosine only on unit-normalised vectors; normalise them (v / ‖v‖) first`,
    );
  }
  return problems;
}

/** Checks a table without writing anything; the problems are what `adoptLane` would refuse with. */
export async function checkAdoptableTable(
  db: Db,
  table: string,
  embedder: { name: string; dims: number; maxTokens: number },
  vectorColumn?: string,
): Promise<{ vector: string; stats: RowStats } | { problems: string[] }> {
  if (!SAFE_IDENTIFIER.test(table)) return { problems: [`table ${JSON.stringify(table)} is not a plain identifier (${SAFE_IDENTIFIER})`] };
  const cols = await checkColumns(db, table, vectorColumn);
  if (cols.problems.length > 0 || !cols.vector) return { problems: cols.problems };
  const stats = await rowStats(db, table, cols.vector, embedder.dims, embedder.maxTokens);
  const problems = rowProblems(table, cols.vector, stats, embedder);
  return problems.length > 0 ? { problems } : { vector: cols.vector, stats };
}

export async function adoptLane(o: AdoptOptions): Promise<AdoptReport> {
  const { db, locked, lane, table } = o;
  await ensurePointerSchema(db);
  const existing = await readPointer(db, lane);
  if (existing && !o.force) {
    throw new AdoptRefused(table, [
      `lane '${lane}' already has a live pointer (live table ${existing.liveTable}, pointer v${existing.version}): pass --force to replace its baseline with ${table}`,
    ]);
  }
  if (existing && (existing.candidateTable || existing.mirrorTable || existing.canaryPercent > 0)) {
    throw new AdoptRefused(table, [
      `lane '${lane}' has a bakeoff in flight (candidate ${existing.candidateTable ?? 'none'} at ${existing.canaryPercent} %, mirror ${existing.mirrorTable ?? 'none'}): abort it first, even with --force`,
    ]);
  }

  const embedder = await o.plane.embedder(locked.embedder);
  const problems: string[] = [];
  if (embedder.tokenizerHash !== locked.tokenizer_hash) {
    problems.push(`config tokenizer_hash ${locked.tokenizer_hash.slice(0, 12)}… is not the tokenizer of ${locked.embedder} (${embedder.tokenizerHash.slice(0, 12)}…): queries would be embedded by another model`);
  }
  const checked = await checkAdoptableTable(db, table, embedder, o.vectorColumn);
  if ('problems' in checked) problems.push(...checked.problems);
  const target = locked.shadow_table;
  if (target === table) problems.push(`${table} is the config's own table name (${target}): the copy needs it; rename the team's table first`);
  const targetRows = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`,
    [target],
  );
  if (targetRows.rows[0].n > 0 && target !== table) problems.push(`the config's table ${target} already exists: an ingest or an earlier adoption made it; drop it or change chunk_version`);
  if (problems.length > 0 || !('vector' in checked)) throw new AdoptRefused(table, problems);
  const { vector, stats } = checked;

  const notes: string[] = [];
  if (stats.over_limit > 0) notes.push(`${stats.over_limit} chunks have embedding_token_count over ${embedder.name}'s input limit of ${embedder.maxTokens} tokens (their vectors saw a truncated text)`);
  if (stats.chunk_versions.length > 1) notes.push(`${table} mixes chunk versions (${stats.chunk_versions.join(', ')}); adopted as one baseline, ${locked.chunk_version}`);

  // The copy: the team's vectors as stored, under the config's identity (probes check chunk fingerprints).
  // Byte spans are unknown for chunks made elsewhere: 0/0 matches no gold span rather than a wrong one.
  const store = new ChunkStore(db, target, embedder.dims);
  o.log?.(`adopting ${table} (${stats.rows} chunks of ${stats.documents} documents, ${embedder.dims}-dim ${vector}) into ${target}`);
  await store.ensureTable();
  try {
    await db.query(
      `INSERT INTO ${quoteIdent(target)} (chunk_id, doc_id, chunk_index, byte_start, byte_end, ingest_run_id, chunk_version, config_hash, embedding_text, bm25_text, embedding, token_count)
       SELECT id::text, doc_id::text, chunk_index, 0, 0, $1, $2, $3, embedding_text, bm25_text, ${quoteIdent(vector)}, embedding_token_count
         FROM ${quoteIdent(table)}`,
      [locked.ingest_run_id, locked.chunk_version, locked.config_hash],
    );
    await store.lexical.setRanker(lexicalRankerOf(locked), locked.ingest_run_id);
    await store.lexical.rebuildStats();

    const sample = await db.query<{ e: unknown }>(`SELECT ${vectorRead('embedding')} AS e FROM ${quoteIdent(target)} ORDER BY md5(chunk_id) LIMIT ${SWEEP_QUERIES}`);
    const built = await buildTableIndexes({
      db,
      table: target,
      indexDir: o.plane.indexDir,
      ingestRunId: locked.ingest_run_id,
      configHash: locked.config_hash,
      embedder: locked.embedder,
      sweepQueries: sample.rows.map((r) => Float32Array.from(decodeVector(r.e))),
    });
    fs.writeFileSync(
      path.join(o.plane.indexDir, target, 'adopted.json'),
      JSON.stringify({ source_table: table, vector_column: vector, rows: stats.rows, documents: stats.documents, source_chunk_versions: stats.chunk_versions, source_ingest_run_ids: stats.ingest_run_ids, by: o.by, adopted_at: new Date().toISOString() }, null, 2) + '\n',
    );

    const registry = new ConfigRegistry(db);
    await registry.ensureSchema();
    await registry.register(locked, o.by);
    if ((await registry.getActive())?.config_hash !== locked.config_hash) await registry.promote(locked.config_hash, o.by, `baseline of lane ${lane}, adopted from ${table}`);

    let pointer: PointerState;
    if (existing) {
      await restoreBaselinePointer(db, { lane, baseline: { table: target, index: built.pointer.ivf, configHash: locked.config_hash }, by: o.by, reason: `adopted ${table} as the baseline` });
      // Cached answers came from the old table.
      pointer = await bumpCacheEpoch(db, { lane, by: o.by, reason: `adopted ${table}` });
    } else {
      pointer = await initLane(db, { lane, liveTable: target, liveIndex: built.pointer.ivf, liveConfigHash: locked.config_hash, by: o.by });
    }
    return {
      lane,
      sourceTable: table,
      vectorColumn: vector,
      liveTable: target,
      rows: stats.rows,
      documents: stats.documents,
      dims: embedder.dims,
      index: { flat: built.pointer.flat, ivf: built.pointer.ivf, nlist: built.pointer.nlist, nprobe: built.pointer.nprobe },
      notes,
      pointer,
      replaced: existing,
    };
  } catch (err) {
    // A half-made copy must not look like an adoptable, finished table next time.
    if (!(await readPointer(db, lane).then((p) => p?.liveTable === target, () => false))) await store.drop().catch(() => undefined);
    throw err;
  }
}
