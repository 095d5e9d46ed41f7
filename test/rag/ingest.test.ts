/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Shadow ingest end to end with the real all-MiniLM-L6-v2 model (tokenizer + ONNX embeddings) on real
// PGlite and real PostgreSQL 15 + pgvector. Corpus: sections of Debian's license texts, plus a
// verbatim and an extended copy of two sections (near-duplicates across documents) and bad documents.
import * as fs from 'node:fs';
import type { Db } from '../../src/platform/db';
import { ChunkStore, type StoredChunk } from '../../src/rag/chunk-store';
import { lockConfig, type LockedConfig } from '../../src/rag/config';
import { Embedder, l2Norm } from '../../src/rag/embed';
import { shadowIngest, type EmbedFn, type IngestProgress, type IngestReport } from '../../src/rag/ingest';
import { getIngestRun } from '../../src/rag/ingest-runs';
import { engines } from './db-engines';

/** Sections of ≥ 120 words, split on blank lines. */
function sections(file: string): string[] {
  const paras = fs.readFileSync(`/usr/share/common-licenses/${file}`, 'utf8').split(/\n\s*\n/).filter((p) => p.trim());
  const out: string[] = [];
  let cur: string[] = [];
  for (const p of paras) {
    cur.push(p);
    if (cur.join(' ').split(/\s+/).length >= 120) {
      out.push(cur.join('\n\n'));
      cur = [];
    }
  }
  return out;
}

interface Doc {
  doc_id: string;
  title: string;
  source?: string;
  text: string | Uint8Array;
}

// "Quixotic" appears in no license text: a title word that BM25 must not see under policy A.
const GOOD: Doc[] = [
  ...sections('GPL-2').slice(14, 20).map((text, i) => ({ doc_id: `gpl2-${i}`, title: `Quixotic GPL-2 part ${i}`, source: 'GPL-2', text })),
  ...sections('LGPL-2.1').slice(23, 29).map((text, i) => ({ doc_id: `lgpl-${i}`, title: `Quixotic LGPL part ${i}`, source: 'LGPL-2.1', text })),
  ...sections('Apache-2.0').slice(0, 6).map((text, i) => ({ doc_id: `apache-${i}`, title: `Quixotic Apache part ${i}`, source: 'Apache-2.0', text })),
];
const COPY_OF = GOOD[13];
const EXTENDED = GOOD[4];
const DOCS: unknown[] = [
  ...GOOD.slice(0, 8),
  { doc_id: 'empty', title: 'Empty', text: '' },
  { doc_id: 'blank', title: 'Blank', text: ' \n\t ' },
  { doc_id: 'binary', title: 'Binary', text: `PK\u0003\u0004\u0000\u0000${'x'.repeat(50)}` },
  { doc_id: 'latin1-bytes', title: 'Not UTF-8', text: Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b]) }, // "café ok" in Latin-1
  { doc_id: 'lossy', title: 'Lossy decode', text: 'caf\uFFFD ok, decoded with replacement characters' },
  { doc_id: 'surrogate', title: 'Lone surrogate', text: 'broken \uD800 text' },
  { doc_id: 'huge', title: 'Enormous', text: 'word '.repeat(30_000) },
  { title: 'No id', text: 'a document without an id' },
  { doc_id: 'numeric', title: 'Numeric text', text: 42 },
  ...GOOD.slice(8),
  { ...GOOD[0], title: 'Same id again' }, // duplicate doc_id
  { doc_id: 'copy-verbatim', title: 'Verbatim copy', text: COPY_OF.text },
  { doc_id: 'copy-extended', title: 'Extended copy', text: `${EXTENDED.text as string}\n\nA closing remark added by the packager, which makes the last chunk differ.` },
  { doc_id: 'utf8-bytes', title: 'Bytes', text: new TextEncoder().encode(`Résumé naïve café. ${sections('Apache-2.0')[7]}`) },
];
const EXPECTED_SKIPS = { malformed: 2, duplicate_doc_id: 1, too_large: 1, invalid_utf8: 3, binary: 1, empty: 2 };
const MAX_DOC_BYTES = 100_000;

/**
 * The real embedder, memoised by text so repeated ingests of the same corpus do not pay for the model
 * again (the vectors are the model's own). Counts what ingest asked for, to see what a resume re-embeds.
 */
class MemoEmbedder implements EmbedFn {
  private readonly cache = new Map<string, Float32Array>();
  requested = 0;
  constructor(readonly real: Embedder) {}
  get dims() {
    return this.real.dims;
  }
  get modelId() {
    return this.real.modelId;
  }
  get maxTokens() {
    return this.real.maxTokens;
  }
  countTokens(t: string) {
    return this.real.countTokens(t);
  }
  embeddingTokens(t: string) {
    return this.real.embeddingTokens(t);
  }
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.requested += texts.length;
    const missing = [...new Set(texts.filter((t) => !this.cache.has(t)))];
    if (missing.length > 0) {
      const vs = await this.real.embed(missing);
      missing.forEach((t, i) => this.cache.set(t, vs[i]));
    }
    return texts.map((t) => this.cache.get(t)!);
  }
}

let embedder: MemoEmbedder;
let configA: LockedConfig;
beforeAll(async () => {
  embedder = new MemoEmbedder(await Embedder.load());
  configA = config('v_it_a', 'A');
});

function config(chunk_version: string, prefix_policy: 'A' | 'B' | 'none', chunk_size = 96): LockedConfig {
  return lockConfig(
    {
      chunk_size,
      overlap_ratio: 0.1,
      jaccard_threshold: 0.8,
      prefix_policy,
      embedder: embedder.real.name,
      tokenizer: embedder.real.tokenizerName,
      tokenizer_hash: embedder.real.tokenizerHash,
      chunk_version,
      created_by: 'test',
    },
    new Date('2026-01-01T00:00:00Z'),
  );
}

async function allRows(store: ChunkStore): Promise<StoredChunk[]> {
  return store.fetchByIds(await store.ids());
}

describe.each(engines())('shadowIngest on $name', (engine) => {
  let db: Db;
  let close: () => Promise<void>;
  let clean: IngestReport;
  let cleanIds: string[];
  let cleanRows: StoredChunk[];
  beforeAll(async () => {
    ({ db, close } = await engine.open());
  });
  afterAll(async () => close());

  test('ingests the corpus: bad documents skipped and counted, near-duplicates removed, policy A kept out of BM25', async () => {
    const progress: IngestProgress[] = [];
    clean = await shadowIngest({ db, config: configA, docs: DOCS, embedder, batchSize: 8, maxDocBytes: MAX_DOC_BYTES, onProgress: (p) => void progress.push(p) });
    process.stderr.write(`[${engine.name}] ingest: ${JSON.stringify({ ...clean, skipped_examples: undefined })}\n`);

    expect(clean.skipped).toEqual(EXPECTED_SKIPS);
    expect(clean.docs_total).toBe(DOCS.length);
    expect(clean.docs_ingested).toBe(DOCS.length - 10);
    expect(clean.skipped_examples.map((e) => e.doc_id)).toEqual(
      expect.arrayContaining(['empty', 'blank', 'binary', 'latin1-bytes', 'lossy', 'surrogate', 'huge', null, 'numeric', 'gpl2-0']),
    );
    expect(clean.token_count_mismatches).toBe(0);
    expect(clean.max_chunk_tokens).toBeLessThanOrEqual(96);
    expect(clean.max_embedding_tokens).toBeLessThanOrEqual(1024);
    expect(clean.over_model_limit).toBe(0);
    expect(clean.duplicates_removed).toBe(clean.chunks_before_dedup - clean.chunks);
    expect(clean.dedup_rate).toBeCloseTo(clean.duplicates_removed / clean.chunks_before_dedup, 12);
    expect(clean.rows_in_table).toBe(clean.chunks);
    expect(clean.resumed_from).toBe(0);

    const store = new ChunkStore(db, configA.shadow_table, embedder.dims);
    cleanIds = await store.ids();
    cleanRows = await allRows(store);
    expect(cleanRows.length).toBe(clean.chunks);
    // The verbatim copy contributed nothing; the extended copy only its changed last chunk.
    expect(cleanRows.some((r) => r.doc_id === 'copy-verbatim')).toBe(false);
    const copyChunks = cleanRows.filter((r) => r.doc_id === COPY_OF.doc_id).length;
    const extendedChunks = cleanRows.filter((r) => r.doc_id === EXTENDED.doc_id).length;
    expect(copyChunks).toBeGreaterThan(1);
    expect(extendedChunks).toBeGreaterThan(1);
    expect(cleanRows.filter((r) => r.doc_id === 'copy-extended').length).toBe(1);
    expect(clean.duplicates_removed).toBe(copyChunks + extendedChunks - 1);

    const docsById = new Map<string, Doc>();
    for (const d of DOCS as Doc[]) if (d && typeof d.doc_id === 'string' && !docsById.has(d.doc_id)) docsById.set(d.doc_id, d);
    for (const r of cleanRows) {
      expect(r.bm25_text.startsWith('Document: ')).toBe(false); // prefix leakage = 0
      const doc = docsById.get(r.doc_id)!;
      expect(r.embedding_text).toBe(`Document: ${doc.title}\n${r.bm25_text}`);
      expect(r.embedding_text.length).toBeGreaterThan(r.bm25_text.length);
      expect(r.token_count).toBe(embedder.countTokens(r.bm25_text));
      expect(Math.abs(l2Norm(r.embedding) - 1)).toBeLessThan(1e-5);
      expect(r.ingest_run_id).toBe(configA.ingest_run_id);
      expect([r.chunk_version, r.config_hash]).toEqual([configA.chunk_version, configA.config_hash]);
      // Byte spans address the UTF-8 source (also for documents given as raw bytes).
      const source = typeof doc.text === 'string' ? Buffer.from(doc.text, 'utf8') : Buffer.from(doc.text);
      expect(source.subarray(r.byte_start, r.byte_end).toString('utf8')).toBe(r.bm25_text);
    }
    expect(cleanRows.filter((r) => r.doc_id === 'utf8-bytes').length).toBeGreaterThan(0);
    // The reported maximum is the real tokenizer's count of the longest embedding text.
    expect(Math.max(...cleanRows.map((r) => embedder.real.embeddingTokens(r.embedding_text)))).toBe(clean.max_embedding_tokens);

    // BM25 does not see title words under A; the body still matches.
    expect(await store.lexicalSearch('quixotic', 5)).toEqual([]);
    expect((await store.lexicalSearch('"Apache License"', 5)).length).toBeGreaterThan(0);
    const [vecTop] = await store.vectorSearch((await embedder.embed([cleanRows[5].embedding_text]))[0], 1);
    expect(vecTop.chunk_id).toBe(cleanRows[5].chunk_id);

    // Progress: monotone, per committed batch, ending at the total.
    expect(progress.length).toBeGreaterThan(3);
    for (let i = 1; i < progress.length; i++) expect(progress[i].docsDone).toBeGreaterThan(progress[i - 1].docsDone);
    expect(progress[progress.length - 1]).toEqual({ docsDone: DOCS.length, docsTotal: DOCS.length, chunks: clean.chunks, chunksTotal: clean.chunks });
    expect(await getIngestRun(db, configA.ingest_run_id)).toMatchObject({ status: 'done', cursor: DOCS.length, chunks_written: clean.chunks });
  });

  test('re-ingesting the same config is idempotent: same row count, same ids, same rows', async () => {
    const requested = embedder.requested;
    const again = await shadowIngest({ db, config: configA, docs: DOCS, embedder, batchSize: 8, maxDocBytes: MAX_DOC_BYTES });
    expect(again.rows_in_table).toBe(clean.rows_in_table);
    expect(again.chunks_written_this_attempt).toBe(clean.chunks); // a finished run is rewritten, not skipped
    expect(embedder.requested - requested).toBe(clean.chunks);
    const store = new ChunkStore(db, configA.shadow_table, embedder.dims);
    expect(await store.ids()).toEqual(cleanIds);
    const rows = await allRows(store);
    expect(rows.map(({ created_at: _c, ...r }) => r)).toEqual(cleanRows.map(({ created_at: _c, ...r }) => r));
    expect((await getIngestRun(db, configA.ingest_run_id))?.attempts).toBe(2);
  });

  test('an ingest interrupted mid-way resumes from its cursor and ends equal to a clean run', async () => {
    // Same config, fresh state: drop the table and the run row the clean run left.
    const store = new ChunkStore(db, configA.shadow_table, embedder.dims);
    await store.drop();
    await db.query('DELETE FROM ingest_runs WHERE ingest_run_id = $1', [configA.ingest_run_id]);

    let batches = 0;
    const interrupted = shadowIngest({
      db, config: configA, docs: DOCS, embedder, batchSize: 8, maxDocBytes: MAX_DOC_BYTES,
      onProgress: () => {
        if (++batches === 3) throw new Error('worker killed after batch 3');
      },
    });
    await expect(interrupted).rejects.toThrow('worker killed after batch 3');
    const run = await getIngestRun(db, configA.ingest_run_id);
    expect(run).toMatchObject({ status: 'failed', error: 'worker killed after batch 3' });
    expect(run!.cursor).toBeGreaterThan(0);
    expect(run!.cursor).toBeLessThan(DOCS.length);
    const partial = await store.count();
    expect(partial).toBe(run!.chunks_written);
    expect(partial).toBe(cleanRows.filter((r) => DOCS.findIndex((d) => (d as Doc).doc_id === r.doc_id) < run!.cursor).length);

    const requested = embedder.requested;
    const resumed = await shadowIngest({ db, config: configA, docs: DOCS, embedder, batchSize: 8, maxDocBytes: MAX_DOC_BYTES });
    expect(resumed.resumed_from).toBe(run!.cursor);
    expect(resumed.chunks_written_this_attempt).toBe(clean.chunks - partial);
    expect(embedder.requested - requested).toBe(clean.chunks - partial); // only the rest is embedded
    // Dedup was decided over the whole corpus, so the resumed run made the same decisions.
    for (const k of ['chunks', 'chunks_before_dedup', 'duplicates_removed', 'dedup_rate', 'max_embedding_tokens', 'skipped'] as const) {
      expect(resumed[k]).toEqual(clean[k]);
    }
    expect(await store.ids()).toEqual(cleanIds);
    const rows = await allRows(store);
    expect(rows.map(({ created_at: _c, ...r }) => r)).toEqual(cleanRows.map(({ created_at: _c, ...r }) => r));
    expect(await getIngestRun(db, configA.ingest_run_id)).toMatchObject({ status: 'done', cursor: DOCS.length, attempts: 2 });
  });

  test('an explicit startCursor wins; a changed corpus ignores a stale cursor', async () => {
    const cfg = config('v_it_cursor', 'A');
    const docs = GOOD.slice(0, 6);
    let n = 0;
    await expect(
      shadowIngest({ db, config: cfg, docs, embedder, batchSize: 4, onProgress: () => { if (++n === 2) throw new Error('stop'); } }),
    ).rejects.toThrow('stop');
    const cursor = (await getIngestRun(db, cfg.ingest_run_id))!.cursor;
    expect(cursor).toBeGreaterThan(0);
    // Another corpus under the same run id: the stored cursor does not apply to it.
    const changed = await shadowIngest({ db, config: cfg, docs: GOOD.slice(0, 5), embedder, batchSize: 4 });
    expect(changed.resumed_from).toBe(0);
    const explicit = await shadowIngest({ db, config: cfg, docs, embedder, batchSize: 4, startCursor: 5 });
    expect(explicit.resumed_from).toBe(5);
    expect(explicit.rows_in_table).toBe(explicit.chunks);
    await new ChunkStore(db, cfg.shadow_table, embedder.dims).drop();
  });

  test('policy B puts the prefix in both texts; policy none in neither', async () => {
    const docs = GOOD.slice(12, 15);
    const b = await shadowIngest({ db, config: config('v_it_b', 'B'), docs, embedder });
    const storeB = new ChunkStore(db, config('v_it_b', 'B').shadow_table, embedder.dims);
    const rowsB = await allRows(storeB);
    expect(rowsB.length).toBe(b.chunks);
    for (const r of rowsB) {
      expect(r.bm25_text).toBe(r.embedding_text);
      expect(r.bm25_text).toMatch(/^Document: Quixotic Apache part \d\n/);
    }
    expect((await storeB.lexicalSearch('quixotic', 50)).length).toBe(rowsB.length);

    await shadowIngest({ db, config: config('v_it_none', 'none'), docs, embedder });
    const rowsNone = await allRows(new ChunkStore(db, config('v_it_none', 'none').shadow_table, embedder.dims));
    for (const r of rowsNone) {
      expect(r.embedding_text).toBe(r.bm25_text);
      expect(r.bm25_text.startsWith('Document: ')).toBe(false);
    }
    // Same spans, different config: different chunk ids.
    expect(new Set(rowsNone.map((r) => r.chunk_id)).has(rowsB[0].chunk_id)).toBe(false);
  });

  test('a scratch table (dry run) is filled under its own cursor; a hostile table name is refused', async () => {
    const docs = GOOD.slice(0, 3);
    const scratch = await shadowIngest({ db, config: configA, docs, embedder, table: 'document_chunks_v_it_a_dryrun' });
    expect(scratch.table).toBe('document_chunks_v_it_a_dryrun');
    expect(scratch.rows_in_table).toBe(scratch.chunks);
    expect(await getIngestRun(db, `${configA.ingest_run_id}@document_chunks_v_it_a_dryrun`)).toMatchObject({ status: 'done', cursor: 3 });
    // The real table's run row still describes the full corpus.
    expect(await getIngestRun(db, configA.ingest_run_id)).toMatchObject({ status: 'done', cursor: DOCS.length });
    await new ChunkStore(db, 'document_chunks_v_it_a_dryrun', embedder.dims).drop();
    await expect(shadowIngest({ db, config: configA, docs, embedder, table: 'x"; DROP TABLE ingest_runs; --' })).rejects.toThrow(/unsafe SQL identifier/);
    expect(await getIngestRun(db, configA.ingest_run_id)).not.toBeNull();
  });

  test('an empty corpus or one with only bad documents finishes cleanly with zero chunks', async () => {
    const cfg = config('v_it_empty', 'A');
    const r = await shadowIngest({ db, config: cfg, docs: [{ doc_id: 'e', title: '', text: '' }, null, 7], embedder });
    expect(r).toMatchObject({ chunks: 0, rows_in_table: 0, dedup_rate: 0, docs_ingested: 0, skipped: { empty: 1, malformed: 2 } });
    expect(await getIngestRun(db, cfg.ingest_run_id)).toMatchObject({ status: 'done', cursor: 3 });
  });
});
