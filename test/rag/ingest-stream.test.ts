/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Streamed ingest of a registered corpus (issue 16, bounded memory) on real PGlite and real PostgreSQL
// 15 + pgvector, with the real MiniLM model (memoised by text) and FAQ documents written out as a JSONL
// dataset and registered: the registry's stream (file → JSONL source → batches, snapshot re-checked)
// feeds shadowIngest, whose rows must equal the in-memory array path's; a crash mid-stream resumes from
// the cursor to the same rows; a corpus changed after lock is refused (CorpusChanged through the data
// plane) with nothing written, and one that changes between ingest's two passes never finishes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ensurePlatformSchema } from '../../src/activities';
import { DataPlane } from '../../src/activities/data-plane';
import { lockCorpusSnapshot } from '../../src/data/locked-corpus';
import { addDataset } from '../../src/data/registry';
import { registeredCorpusBatches } from '../../src/data/registry-resolve';
import type { Db } from '../../src/platform/db';
import { ChunkStore } from '../../src/rag/chunk-store';
import { defaultCandidate, lockConfig, type LockedConfig } from '../../src/rag/config';
import { CorpusChangedError, shadowIngest } from '../../src/rag/ingest';
import { ensureIngestRunsTable, getIngestRun } from '../../src/rag/ingest-runs';
import { faqSubset, identityOf, MemoEmbedder, realEmbedder } from '../support/rag-fixture';
import { engines } from './db-engines';

const BATCH = 4; // chunks per batch: the corpus is several batches long
let embedder: MemoEmbedder;
let home: string;
let file: string;
let docs: { doc_id: string; title: string; text: string }[];
let locked: LockedConfig;

/** The registered corpus as the data plane streams it: re-iterable, one registry pass per iteration. */
function registered(name = 'streamed'): AsyncIterable<unknown> {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const batch of registeredCorpusBatches(home, name, 4)) yield* batch;
    },
  };
}

async function rows(db: Db, table: string): Promise<unknown[]> {
  const r = await db.query(`SELECT chunk_id, doc_id, chunk_index, byte_start, byte_end, embedding_text, bm25_text, token_count, chunk_version, config_hash, ingest_run_id, embedding::text AS embedding FROM ${table} ORDER BY chunk_id`);
  return r.rows;
}

beforeAll(async () => {
  embedder = new MemoEmbedder(await realEmbedder());
  const faq = (await faqSubset(6)).docs.slice(0, 16);
  // A verbatim copy under another id: the streamed near-duplicate filter must drop its chunks as the array path does.
  docs = [...faq.map((d) => ({ doc_id: d.doc_id, title: d.title, text: d.text })), { doc_id: 'copy-of-3', title: 'A copy', text: faq[3].text }];
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-ingest-stream-'));
  file = path.join(home, 'corpus.jsonl');
  fs.writeFileSync(file, docs.map((d) => JSON.stringify({ id: d.doc_id, title: d.title, text: d.text })).join('\n') + '\n');
  await addDataset(home, 'streamed', { kind: 'jsonl', file });
  const e = await realEmbedder();
  locked = lockCorpusSnapshot(lockConfig({ ...defaultCandidate(identityOf(e), 'v450_o10_j80_stream'), dataset: 'streamed' }, new Date('2026-12-06T00:00:00Z')), home);
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe.each(engines())('$name', (engine) => {
  let db: Db;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await engine.open());
  });
  afterAll(async () => close?.());

  test('the registered stream ingests to exactly the array path rows; a crash mid-stream resumes to the same rows', async () => {
    const fromArray = await shadowIngest({ db, config: locked, docs, embedder, table: 'stream_array', batchSize: BATCH });
    const streamed = await shadowIngest({ db, config: locked, docs: registered(), embedder, table: 'stream_registered', batchSize: BATCH, expectedSnapshot: locked.corpus_snapshot });
    expect(fromArray.chunks).toBeGreaterThan(3 * BATCH);
    expect(fromArray.duplicates_removed).toBeGreaterThan(0);
    for (const k of ['docs_total', 'docs_ingested', 'chunks', 'chunks_before_dedup', 'duplicates_removed', 'max_embedding_tokens', 'corpus_fingerprint'] as const) {
      expect(streamed[k]).toEqual(fromArray[k]);
    }
    expect(streamed.corpus_fingerprint).toBe(locked.corpus_snapshot);
    const arrayRows = await rows(db, 'stream_array');
    expect(arrayRows).toHaveLength(fromArray.chunks);
    expect(await rows(db, 'stream_registered')).toEqual(arrayRows);

    // Crash after the second committed batch, then a retry over the same stream.
    let batches = 0;
    const progress: number[] = [];
    await expect(
      shadowIngest({
        db, config: locked, docs: registered(), embedder, table: 'stream_resumed', batchSize: BATCH,
        onProgress: (p) => {
          progress.push(p.docsDone);
          if (++batches === 2) throw new Error('worker killed mid-stream');
        },
      }),
    ).rejects.toThrow('worker killed mid-stream');
    const run = await getIngestRun(db, `${locked.ingest_run_id}@stream_resumed`);
    expect(run).toMatchObject({ status: 'failed', cursor: progress[1] });
    expect(run!.cursor).toBeGreaterThan(0);
    expect(run!.cursor).toBeLessThan(docs.length);
    const partial = await new ChunkStore(db, 'stream_resumed', embedder.dims).count();
    expect(partial).toBe(run!.chunks_written);
    const embed = jest.spyOn(embedder, 'embed');
    const resumed = await shadowIngest({ db, config: locked, docs: registered(), embedder, table: 'stream_resumed', batchSize: BATCH });
    expect(resumed.resumed_from).toBe(run!.cursor);
    expect(resumed.chunks_written_this_attempt).toBe(fromArray.chunks - partial);
    expect(embed.mock.calls.reduce((n, [texts]) => n + texts.length, 0)).toBe(fromArray.chunks - partial); // only the rest is embedded
    embed.mockRestore();
    expect(resumed.duplicates_removed).toBe(fromArray.duplicates_removed);
    expect(await rows(db, 'stream_resumed')).toEqual(arrayRows);
    expect(await getIngestRun(db, `${locked.ingest_run_id}@stream_resumed`)).toMatchObject({ status: 'done', cursor: docs.length, attempts: 2 });
  });

  test('a corpus that is not the locked snapshot is refused before anything is written', async () => {
    const edited = docs.map((d, i) => (i === 5 ? { ...d, text: `${d.text} Edited after the lock.` } : d));
    const refused = shadowIngest({ db, config: locked, docs: edited, embedder, table: 'stream_refused', batchSize: BATCH, expectedSnapshot: locked.corpus_snapshot });
    await expect(refused).rejects.toThrow(CorpusChangedError);
    await expect(refused).rejects.toThrow(/^the corpus read now \(snapshot [0-9a-f]{16}…, 17 documents\) is not the one expected \([0-9a-f]{16}…\): nothing was written$/);
    expect(await getIngestRun(db, `${locked.ingest_run_id}@stream_refused`)).toBeNull();
    const table = await db.query(`SELECT to_regclass('stream_refused') AS t`);
    expect((table.rows[0] as { t: string | null }).t).toBeNull();
  });

  test('a corpus that changes between the fingerprint pass and the ingest pass never finishes', async () => {
    let passes = 0;
    const shifting: AsyncIterable<unknown> = {
      async *[Symbol.asyncIterator]() {
        const pass = ++passes;
        for (const [i, d] of docs.entries()) yield pass === 2 && i === docs.length - 1 ? { ...d, text: `${d.text} (changed)` } : d;
      },
    };
    const run = shadowIngest({ db, config: locked, docs: shifting, embedder, table: 'stream_shifting', batchSize: BATCH });
    await expect(run).rejects.toThrow(/^the corpus changed while it was read: 17 documents \(sequence [0-9a-f]{12}\) on the second pass, 17 \([0-9a-f]{12}\) on the first$/);
    // Batches before the last are committed under the cursor (a retry resumes them); the last batch, the
    // stale-row deletion and the finish are not.
    const row = await getIngestRun(db, `${locked.ingest_run_id}@stream_shifting`);
    expect(row).toMatchObject({ status: 'failed' });
    expect(row!.cursor).toBeLessThan(docs.length);
    expect(await new ChunkStore(db, 'stream_shifting', embedder.dims).count()).toBe(row!.chunks_written);
    // A generator object reads once: refused with one line instead of ingesting an empty second pass.
    const once = (async function* () {
      yield* docs;
    })();
    await expect(shadowIngest({ db, config: locked, docs: once, embedder, table: 'stream_once' })).rejects.toThrow(/^docs: a generator object can be read only once/);
  });
});

test('the data plane refuses a registered corpus edited after the lock: CorpusChanged, non-retryable, nothing written', async () => {
  const { db, close } = await engines()[0].open();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-ingest-stream-dp-'));
  const plane = new DataPlane({ db, home, loadEmbedder: async () => embedder, indexDir: path.join(tmp, 'indexes'), manifestDir: path.join(tmp, 'eval'), ingestBatchSize: BATCH });
  const original = fs.readFileSync(file, 'utf8');
  await ensurePlatformSchema(db);
  await ensureIngestRunsTable(db);
  try {
    // The file is edited after registration and lock (the manifest still names the old snapshot).
    fs.writeFileSync(file, original.replace(JSON.stringify(docs[2].text), JSON.stringify(`${docs[2].text} Edited.`)));
    const failure = await plane.shadowIngest({ locked, table: 'stream_dp_refused', dryRun: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'CorpusChanged', nonRetryable: true });
    expect((failure as Error).message).toMatch(/^dataset streamed: the corpus changed since registration \(snapshot sha256 [0-9a-f]{64}, 17 documents; registered [0-9a-f]{64}, 17\)/);
    expect(await getIngestRun(db, `${locked.ingest_run_id}@stream_dp_refused`)).toBeNull();
    const table = await db.query(`SELECT to_regclass('stream_dp_refused') AS t`);
    expect((table.rows[0] as { t: string | null }).t).toBeNull();
  } finally {
    fs.writeFileSync(file, original);
    await plane.close();
    await close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
