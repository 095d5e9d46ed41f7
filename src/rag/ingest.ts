// Shadow ingest: documents → token-accurate chunks → near-duplicate removal → prefix policy →
// batched embeddings → upserts into the version's shadow table, with a cursor committed together
// with each batch. The documents are read as a stream, twice: a first pass fingerprints the corpus
// (so the resume cursor is judged, and a changed corpus refused, before anything is written), the
// second chunks, deduplicates and writes batch by batch. Every document is chunked and deduplicated
// in corpus order on every attempt, so a resumed attempt makes exactly the same decisions as an
// uninterrupted one; only the expensive part (embedding, writing) is skipped up to the cursor.
// Memory: one batch of documents and chunks, plus per document its id (the duplicate-id check and
// the removed-document deletion) and one fingerprint line (~100 bytes), plus the near-duplicate
// state of each kept chunk (src/rag/dedup-stream.ts) — never the corpus's texts.
import { z } from 'zod';
import { quoteIdent, type Db } from '../platform/db';
import { TokenAccurateChunker, overlapTokensFor, type Chunk, type TokenCounter } from './chunk';
import { ChunkStore, type ChunkRow } from './chunk-store';
import { CorpusFingerprinter, fingerprintDocuments, type CorpusFingerprints } from './corpus-fingerprint';
import { GUARDRAILS, parseLockedConfig, type LockedConfig } from './config';
import { lexicalRankerOf } from './lexical-ranker';
import { NearDuplicateFilter } from './dedup-stream';
import { advanceIngestCursor, beginIngestRun, ensureIngestRunsTable, failIngestRun, finishIngestRun, getIngestRun } from './ingest-runs';
import { shardOfDoc, shardRunKey, type Shard } from './ingest-shard';
import { applyPrefixPolicy } from './prefix';

/** What ingest needs from an embedder (src/rag/embed.ts's Embedder satisfies it structurally). */
export interface EmbedFn extends TokenCounter {
  readonly dims: number;
  readonly modelId: string;
  /** Longest input the model attends to (e.g. 512 for MiniLM); chunks above it are counted, not cut here. */
  readonly maxTokens?: number;
  /** Tokens the model sees for a text, special tokens included (countTokens is used when absent). */
  embeddingTokens?(text: string): number;
  /** L2-normalised embeddings, one per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
}

export interface IngestProgress {
  docsDone: number;
  /** Documents in the corpus (counted by the fingerprint pass). */
  docsTotal: number;
  /** Chunks written so far in this run (including those written by earlier attempts). */
  chunks: number;
  /** Chunks kept so far (the corpus is chunked as it streams): exact once docsDone = docsTotal. */
  chunksTotal: number;
}

/**
 * Input documents: an array, or an async iterable that starts from the first document each time
 * [Symbol.asyncIterator]() is called (ingest reads it twice) — not a generator object, which reads once.
 */
export type IngestDocs = readonly unknown[] | AsyncIterable<unknown>;

/** The corpus is not the one the caller expected (the snapshot locked into the config), or changed while it was read. */
export class CorpusChangedError extends Error {
  override name = 'CorpusChangedError';
}

export type SkipReason = 'malformed' | 'duplicate_doc_id' | 'too_large' | 'invalid_utf8' | 'binary' | 'empty';
export const SKIP_REASONS: readonly SkipReason[] = ['malformed', 'duplicate_doc_id', 'too_large', 'invalid_utf8', 'binary', 'empty'];

export interface ShadowIngestOptions {
  db: Db;
  config: LockedConfig;
  /** Corpus documents {doc_id, title, source?, text}; text may be a string or raw UTF-8 bytes. */
  docs: IngestDocs;
  /**
   * Snapshot fingerprint the corpus must have (a locked config's corpus_snapshot): checked after the
   * fingerprint pass, before anything is written; a different corpus throws CorpusChangedError.
   */
  expectedSnapshot?: string;
  /**
   * Which documents this call embeds and writes (a shard's); default all. The others are still
   * chunked and deduplicated, so every decision is the one an unfiltered ingest makes.
   */
  writesDoc?: (docId: string) => boolean;
  /** Once the fingerprint pass is done, before anything is written (an activity heartbeats the sequence fingerprint). */
  onCorpus?: (f: CorpusFingerprints) => void | Promise<void>;
  /** Every 1,000 documents read without a commit (fingerprint pass, re-chunking before the cursor): keeps a heartbeat alive. */
  onReading?: (docsRead: number) => void | Promise<void>;
  embedder: EmbedFn;
  /** Called after each committed batch; the activity heartbeats with it. A throw aborts the run (resumable). */
  onProgress?: (p: IngestProgress) => void | Promise<void>;
  /** Document index to resume from; default: the stored cursor of an unfinished run with this ingest_run_id, else 0. */
  startCursor?: number;
  /**
   * The corpus sequence fingerprint startCursor was taken over (a heartbeat records it). When given and
   * not this corpus's, the cursor is ignored: a position in another document sequence means nothing here.
   */
  startCursorCorpus?: string;
  /** Chunks per embedding call (and roughly per committed batch). */
  batchSize?: number;
  /** Documents larger than this many UTF-8 bytes are skipped as too_large. */
  maxDocBytes?: number;
  /** Table to fill instead of config.shadow_table (a dry run's scratch table). Its cursor is kept apart. */
  table?: string;
  /**
   * Embed and write only this shard's documents (src/rag/ingest-shard.ts), under the shard's own cursor
   * row; chunking, dedup and the stale-row set stay whole-corpus decisions. The lexical statistics are
   * left to finishShardedIngest, after every shard.
   */
  shard?: Shard;
}

export interface IngestReport {
  ingest_run_id: string;
  chunk_version: string;
  config_hash: string;
  table: string;
  embedder: string;
  docs_total: number;
  docs_ingested: number;
  skipped: Record<SkipReason, number>;
  /** First few skipped documents per reason, for the operator. */
  skipped_examples: { doc_id: string | null; index: number; reason: SkipReason }[];
  chunks_before_dedup: number;
  chunks: number;
  duplicates_removed: number;
  dedup_rate: number;
  max_chunk_tokens: number;
  max_embedding_tokens: number;
  embedding_budget: number;
  /** Chunks whose embedding text is longer than the model's own input limit (it would truncate them). */
  over_model_limit: number;
  /** Snapshot fingerprint of the input documents (src/rag/corpus-fingerprint.ts). */
  corpus_fingerprint: string;
  /** Why a given startCursor was not used (another corpus), else null. */
  cursor_refused: string | null;
  /** Rows of this table no longer produced by this corpus (documents removed or changed since the last run), deleted. */
  stale_chunks_removed: number;
  /** Documents that had rows in the table and are not in this corpus any more. */
  docs_removed: number;
  /** The shard this report covers (absent: the whole corpus), and the chunks that are its own. */
  shard?: Shard & { chunks: number };
  prefix_trimmed: number;
  token_count_mismatches: number;
  oversize_words_split: number;
  resumed_from: number;
  chunks_written_this_attempt: number;
  rows_in_table: number;
  duration_ms: number;
  embed_ms: number;
}

export const DEFAULT_BATCH_SIZE = 64;
export const DEFAULT_MAX_DOC_BYTES = 8 * 1024 * 1024;

const DocSchema = z.object({
  doc_id: z.string().min(1).max(500),
  title: z.string().default(''),
  source: z.string().optional(),
  text: z.union([z.string(), z.instanceof(Uint8Array)]),
});

interface GoodDoc {
  index: number;
  doc_id: string;
  title: string;
  text: string;
}

type Classified = { ok: true; doc: GoodDoc } | { ok: false; reason: SkipReason; doc_id: string | null };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// C0 controls other than tab, newline, vertical tab, form feed, carriage return; and DEL.
const CONTROL = /[\u0001-\u0008\u000e-\u001f\u007f]/g;

/** Decides whether one input document can be ingested, and if not, why. */
export function classifyDoc(raw: unknown, index: number, maxDocBytes: number, seen: Set<string>): Classified {
  const parsed = DocSchema.safeParse(raw);
  if (!parsed.success) {
    const id = typeof (raw as { doc_id?: unknown })?.doc_id === 'string' ? (raw as { doc_id: string }).doc_id : null;
    return { ok: false, reason: 'malformed', doc_id: id };
  }
  const d = parsed.data;
  const skip = (reason: SkipReason): Classified => ({ ok: false, reason, doc_id: d.doc_id });
  const bytes = typeof d.text === 'string' ? Buffer.byteLength(d.text, 'utf8') : d.text.byteLength;
  if (bytes > maxDocBytes) return skip('too_large');
  let text: string;
  if (typeof d.text === 'string') {
    text = d.text;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(d.text);
    } catch {
      return skip('invalid_utf8');
    }
  }
  // A lone surrogate cannot be encoded at all. U+FFFD is what a lossy decode leaves where bytes were
  // not UTF-8; documentation may also mention the character itself (Python's codecs page does), so
  // only runs of it or more than 1 in 1000 characters count as a broken decode.
  if (LONE_SURROGATE.test(text)) return skip('invalid_utf8');
  const replacements = text.match(/\uFFFD/g)?.length ?? 0;
  if (replacements > 0 && (text.includes('\uFFFD\uFFFD') || replacements / text.length > 0.001)) return skip('invalid_utf8');
  if (text.includes('\u0000')) return skip('binary');
  const controls = text.match(CONTROL)?.length ?? 0;
  if (controls > 0 && controls / text.length > 0.01) return skip('binary');
  if (text.trim() === '') return skip('empty');
  if (seen.has(d.doc_id)) return skip('duplicate_doc_id');
  seen.add(d.doc_id);
  return { ok: true, doc: { index, doc_id: d.doc_id, title: d.title, text } };
}

interface PreparedChunk {
  chunk: Chunk;
  embedding_text: string;
  bm25_text: string;
  embedding_tokens: number;
}

const READING_EVERY = 1_000;

/** One pass over the documents, from the first. */
async function* documentsOf(docs: IngestDocs): AsyncGenerator<unknown> {
  if (Array.isArray(docs)) {
    yield* docs as readonly unknown[];
    return;
  }
  const iterable = docs as AsyncIterable<unknown>;
  const it = iterable[Symbol.asyncIterator]();
  if ((it as unknown) === iterable) throw new Error('docs: a generator object can be read only once and ingest reads the corpus twice; pass an iterable whose [Symbol.asyncIterator]() starts over');
  for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
}

/** A document of the current batch: its kept chunks, ready to embed when it is written. */
interface BatchDoc {
  index: number;
  doc_id: string;
  chunks: PreparedChunk[];
  /** Embedded and written in this attempt (at or after the cursor, and this call's to write). */
  write: boolean;
}

export async function shadowIngest(opts: ShadowIngestOptions): Promise<IngestReport> {
  const t0 = performance.now();
  const config = parseLockedConfig(opts.config);
  const { db, embedder, docs } = opts;
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  const maxDocBytes = opts.maxDocBytes ?? DEFAULT_MAX_DOC_BYTES;
  const shard = opts.shard;
  const writesDoc = opts.writesDoc ?? (shard ? (docId: string) => shardOfDoc(docId, shard.count) === shard.index : () => true);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);

  // The target table is validated before any work: a bad name fails at once.
  const store = new ChunkStore(db, opts.table ?? config.shadow_table, embedder.dims);

  // 1. Fingerprint pass: the snapshot (what the corpus is) and the sequence (what a cursor counts into).
  const scan = new CorpusFingerprinter();
  let scanned = 0;
  for await (const raw of documentsOf(docs)) {
    scan.addDocument(raw);
    if (++scanned % READING_EVERY === 0) await opts.onReading?.(scanned);
  }
  const fingerprints = scan.digest();
  const fingerprint = fingerprints.sequence;
  const docsTotal = fingerprints.documents;
  if (opts.expectedSnapshot !== undefined && fingerprints.snapshot !== opts.expectedSnapshot) {
    throw new CorpusChangedError(`the corpus read now (snapshot ${fingerprints.snapshot.slice(0, 16)}…, ${docsTotal} documents) is not the one expected (${opts.expectedSnapshot.slice(0, 16)}…): nothing was written`);
  }
  await opts.onCorpus?.(fingerprints);

  // 2. Resume point.
  // Rows always carry the config's ingest_run_id; the cursor of another table is tracked under its own
  // key so a dry run into a scratch table never moves the real table's resume point.
  const unshardedKey = store.table === config.shadow_table ? config.ingest_run_id : `${config.ingest_run_id}@${store.table}`;
  // A shard resumes from its own cursor row (src/rag/ingest-shard.ts).
  const runKey = shard ? shardRunKey(unshardedKey, shard) : unshardedKey;
  await store.ensureTable();
  await ensureIngestRunsTable(db);
  let previous = await getIngestRun(db, runKey);
  // A changed corpus is a new ingest run: its row starts over (cursor 0, attempts 1, started now).
  if (previous && previous.corpus_fingerprint !== fingerprint) {
    await db.query('DELETE FROM ingest_runs WHERE ingest_run_id = $1', [runKey]);
    previous = null;
  }
  // Resume only an unfinished run over the same corpus; a finished run starts over (upserts make the rewrite harmless).
  const storedCursor = previous && previous.status !== 'done' ? previous.cursor : 0;
  await beginIngestRun(db, {
    ingest_run_id: runKey,
    table_name: store.table,
    chunk_version: config.chunk_version,
    config_hash: config.config_hash,
    docs_total: docsTotal,
    corpus_fingerprint: fingerprint,
  });
  // A caller's cursor (a heartbeat's) is trusted only for the corpus it was taken over.
  const cursorRefused =
    opts.startCursor !== undefined && opts.startCursorCorpus !== undefined && opts.startCursorCorpus !== fingerprint
      ? `cursor ${opts.startCursor} was taken over corpus ${opts.startCursorCorpus.slice(0, 12)}, this is ${fingerprint.slice(0, 12)}: starting at ${storedCursor}`
      : null;
  const resumedFrom = Math.min(Math.max(0, cursorRefused ? storedCursor : (opts.startCursor ?? storedCursor)), docsTotal);

  // 3. Second pass, batch by batch: classify, chunk, deduplicate in corpus order, prefix policy; embed
  // and upsert the documents from the cursor on, the cursor committing with the rows it covers.
  const skipped = Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>;
  const skipped_examples: IngestReport['skipped_examples'] = [];
  /** Ids of the ingestible documents: the duplicate-id check, and which rows belong to removed documents. */
  const seen = new Set<string>();
  const chunker = new TokenAccurateChunker(embedder, {
    chunkSize: config.chunk_size,
    overlapTokens: overlapTokensFor(config.chunk_size, config.overlap_ratio),
  });
  const identity = { chunk_version: config.chunk_version, config_hash: config.config_hash };
  const dedup = new NearDuplicateFilter({ threshold: config.jaccard_threshold });
  const reread = new CorpusFingerprinter(true);
  let chunksBeforeDedup = 0;
  let keptTotal = 0;
  /** Kept chunks of the documents this call writes (a shard's share of keptTotal). */
  let ownedChunks = 0;
  let maxEmbeddingTokens = 0;
  let overModelLimit = 0;
  let prefixTrimmed = 0;
  let chunksDone = 0;
  let embedMs = 0;
  let writtenThisAttempt = 0;
  let staleRemoved = 0;
  let docsRemoved = 0;
  let cursorStored = false;
  const report = (rowsInTable: number): IngestReport => ({
    ingest_run_id: config.ingest_run_id,
    chunk_version: config.chunk_version,
    config_hash: config.config_hash,
    table: store.table,
    embedder: embedder.modelId,
    docs_total: docsTotal,
    docs_ingested: seen.size,
    skipped,
    skipped_examples,
    chunks_before_dedup: chunksBeforeDedup,
    chunks: keptTotal,
    duplicates_removed: dedup.removed,
    dedup_rate: dedup.rate,
    max_chunk_tokens: chunker.stats.maxTokens,
    max_embedding_tokens: maxEmbeddingTokens,
    embedding_budget: GUARDRAILS.maxEmbeddingTokens,
    over_model_limit: overModelLimit,
    corpus_fingerprint: fingerprints.snapshot,
    cursor_refused: cursorRefused,
    stale_chunks_removed: staleRemoved,
    docs_removed: docsRemoved,
    ...(shard ? { shard: { ...shard, chunks: ownedChunks } } : {}),
    prefix_trimmed: prefixTrimmed,
    token_count_mismatches: chunker.stats.countMismatches,
    oversize_words_split: chunker.stats.oversizeWordsSplit,
    resumed_from: resumedFrom,
    chunks_written_this_attempt: writtenThisAttempt,
    rows_in_table: rowsInTable,
    duration_ms: Math.round(performance.now() - t0),
    embed_ms: Math.round(embedMs),
  });

  /** A document's kept chunks with their embedding and BM25 texts (the report's figures counted here). */
  const prepare = (d: GoodDoc): PreparedChunk[] => {
    const list: PreparedChunk[] = [];
    for (const chunk of chunker.chunk(d.doc_id, d.text, identity)) {
      chunksBeforeDedup++;
      if (dedup.isDuplicate(chunk.text)) continue;
      const p = applyPrefixPolicy(config.prefix_policy, d.title, chunk.text, embedder, {
        budget: GUARDRAILS.maxEmbeddingTokens,
        modelMaxTokens: embedder.maxTokens,
        chunkTokens: chunk.token_count,
      });
      maxEmbeddingTokens = Math.max(maxEmbeddingTokens, p.embedding_tokens);
      if (embedder.maxTokens !== undefined && p.embedding_tokens > embedder.maxTokens) overModelLimit++;
      if (p.prefix_trimmed) prefixTrimmed++;
      list.push({ chunk, embedding_text: p.embedding_text, bm25_text: p.bm25_text, embedding_tokens: p.embedding_tokens });
    }
    keptTotal += list.length;
    return list;
  };

  /**
   * Commits one batch: the rows of its documents this corpus no longer produces (an edited document's
   * old chunks, chunks now deduplicated away) go, its new rows are upserted, and the cursor moves to
   * `cursor` when the batch reaches past the resume point — all in one transaction.
   */
  const commit = async (batch: BatchDoc[], cursor: number): Promise<void> => {
    const owned = batch.filter((d) => writesDoc(d.doc_id));
    const pending = owned.filter((d) => d.write).flatMap((d) => d.chunks);
    const rows: ChunkRow[] = [];
    for (let off = 0; off < pending.length; off += batchSize) {
      const slice = pending.slice(off, off + batchSize);
      const te = performance.now();
      const vectors = await embedder.embed(slice.map((p) => p.embedding_text));
      embedMs += performance.now() - te;
      checkEmbeddings(vectors, slice.length, embedder.dims);
      slice.forEach((p, j) =>
        rows.push({
          ...p.chunk,
          ingest_run_id: config.ingest_run_id,
          chunk_version: config.chunk_version,
          config_hash: config.config_hash,
          embedding_text: p.embedding_text,
          bm25_text: p.bm25_text,
          embedding: vectors[j],
        }),
      );
    }
    const advances = cursor > resumedFrom || !cursorStored;
    chunksDone += rows.length;
    await db.transaction(async (tx) => {
      if (owned.length > 0) {
        const stale = await tx.query(`DELETE FROM ${quoteIdent(store.table)} WHERE doc_id = ANY($1::text[]) AND chunk_id <> ALL($2::text[])`, [
          owned.map((d) => d.doc_id),
          owned.flatMap((d) => d.chunks.map((p) => p.chunk.chunk_id)),
        ]);
        staleRemoved += stale.rowCount ?? 0;
      }
      if (rows.length > 0) await store.upsert(rows, tx);
      if (advances) await advanceIngestCursor(tx, runKey, Math.max(cursor, resumedFrom), chunksDone);
    });
    cursorStored ||= advances;
    writtenThisAttempt += rows.length;
    if (cursor > resumedFrom) await opts.onProgress?.({ docsDone: cursor, docsTotal, chunks: chunksDone, chunksTotal: keptTotal });
    else await opts.onReading?.(cursor);
  };

  try {
    let batch: BatchDoc[] = [];
    let batchChunks = 0;
    let index = 0;
    for await (const raw of documentsOf(docs)) {
      const i = index++;
      reread.addDocument(raw);
      if (i >= docsTotal) throw new CorpusChangedError(`the corpus grew while it was read: more than the ${docsTotal} documents of the fingerprint pass`);
      const c = classifyDoc(raw, i, maxDocBytes, seen);
      if (!c.ok) {
        skipped[c.reason]++;
        if (skipped_examples.filter((e) => e.reason === c.reason).length < 5) skipped_examples.push({ doc_id: c.doc_id, index: i, reason: c.reason });
        continue;
      }
      const chunks = prepare(c.doc);
      const write = i >= resumedFrom;
      const owns = writesDoc(c.doc.doc_id);
      if (owns) ownedChunks += chunks.length;
      if (!write && owns) chunksDone += chunks.length; // stored by an earlier attempt
      batch.push({ index: i, doc_id: c.doc.doc_id, chunks: write ? chunks : chunks.map(idOnly), write });
      batchChunks += chunks.length;
      // The batch holding the last document commits only after the whole sequence was checked (below).
      if (batchChunks >= batchSize && i < docsTotal - 1) {
        await commit(batch, i + 1);
        batch = [];
        batchChunks = 0;
      }
    }
    const second = reread.digest();
    if (second.sequence !== fingerprint) {
      throw new CorpusChangedError(`the corpus changed while it was read: ${second.documents} documents (sequence ${second.sequence.slice(0, 12)}) on the second pass, ${docsTotal} (${fingerprint.slice(0, 12)}) on the first`);
    }
    await commit(batch, docsTotal);
    if (docsTotal === 0 || resumedFrom >= docsTotal) {
      await opts.onProgress?.({ docsDone: docsTotal, docsTotal, chunks: chunksDone, chunksTotal: keptTotal });
    }
    // Rows of documents no longer in the corpus (or no longer ingestible) go too, before any
    // statistics over the table are computed: the table holds exactly this corpus's chunks.
    const stale = await db.query<{ doc_id: string }>(`DELETE FROM ${quoteIdent(store.table)} WHERE doc_id <> ALL($1::text[]) RETURNING doc_id`, [[...seen]]);
    staleRemoved += stale.rows.length;
    docsRemoved = new Set(stale.rows.map((r) => r.doc_id)).size;
    // The lexical ranker and its term statistics belong to this table and this run (built in slices;
    // a shard leaves them to finishShardedIngest, once every shard is in).
    if (!shard) {
      await store.lexical.setRanker(lexicalRankerOf(config), config.ingest_run_id);
      await store.lexical.rebuildStats();
    }
    const final = report(await store.count());
    await finishIngestRun(db, runKey, final);
    return final;
  } catch (err) {
    await failIngestRun(db, runKey, err instanceof Error ? err.message : String(err)).catch(() => undefined);
    throw err;
  }
}

/** A document before the cursor keeps only its chunk ids in the batch (its stale rows are checked, nothing is embedded). */
function idOnly(p: PreparedChunk): PreparedChunk {
  return { chunk: { chunk_id: p.chunk.chunk_id } as Chunk, embedding_text: '', bm25_text: '', embedding_tokens: 0 };
}

/** The input documents' sequence fingerprint (src/rag/corpus-fingerprint.ts): a cursor is never applied to a different corpus. */
export function corpusFingerprint(docs: readonly unknown[]): string {
  return fingerprintDocuments(docs).sequence;
}

function checkEmbeddings(vectors: Float32Array[], expected: number, dims: number): void {
  if (vectors.length !== expected) throw new Error(`embedder returned ${vectors.length} vectors for ${expected} texts`);
  for (const v of vectors) {
    if (v.length !== dims) throw new Error(`embedder returned a ${v.length}-dim vector, expected ${dims}`);
    let sq = 0;
    for (let i = 0; i < v.length; i++) sq += v[i] * v[i];
    // Stored vectors must be unit length (cosine == inner product for FAISS); a drift means a broken embedder.
    if (!(Math.abs(Math.sqrt(sq) - 1) < 1e-3)) throw new Error(`embedder returned a vector of norm ${Math.sqrt(sq)}, expected 1`);
  }
}
