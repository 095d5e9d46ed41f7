/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Changing corpora (issue 16 item 5) on real PostgreSQL + pgvector, the real MiniLM model (memoised by
// text) and FAQ documents: a changed corpus is a new ingest run, documents removed since the last run
// leave the table, and a resumed ingest trusts a heartbeat cursor only over the corpus it was taken on
// (also through the shadowIngest activity in the SDK's MockActivityEnvironment, a real activity Context).
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataPlane, type IngestHeartbeat } from '../../src/activities/data-plane';
import type { CorpusDoc, Dataset } from '../../src/data/dataset';
import { openDb, type Db } from '../../src/platform/db';
import { ChunkStore } from '../../src/rag/chunk-store';
import { CorpusFingerprinter, documentContentHash, fingerprintDocuments } from '../../src/rag/corpus-fingerprint';
import { shadowIngest } from '../../src/rag/ingest';
import { getIngestRun } from '../../src/rag/ingest-runs';
import { candidateConfig, faqSubset, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

let db: Db;
let embedder: MemoEmbedder;
let docs: CorpusDoc[];
const TABLES = ['scratch_corpus_a', 'scratch_corpus_fresh', 'scratch_corpus_resume', 'scratch_corpus_dp'];

beforeAll(async () => {
  db = await openDb({ url: process.env.BAKEOFF_TEST_PG_URL });
  embedder = new MemoEmbedder(await realEmbedder());
  docs = (await faqSubset(6)).docs.slice(0, 14);
  for (const t of TABLES) {
    await db.exec(`DROP TABLE IF EXISTS ${t}`);
    await db.query('DELETE FROM ingest_runs WHERE table_name = $1', [t]).catch(() => undefined);
  }
});
afterAll(async () => {
  for (const t of TABLES) await db?.exec(`DROP TABLE IF EXISTS ${t}`);
  await db?.close();
});

async function locked() {
  const e = await realEmbedder();
  return candidateConfig(e, 'v450_o10_j80_a_corpus');
}

async function docIds(table: string): Promise<string[]> {
  const r = await db.query<{ doc_id: string }>(`SELECT DISTINCT doc_id FROM ${table} ORDER BY doc_id`);
  return r.rows.map((x) => x.doc_id);
}

test('fingerprints: the snapshot ignores order, the sequence does not; content and ids change both; streaming = in memory', () => {
  const f = fingerprintDocuments(docs);
  expect(f.documents).toBe(docs.length);
  const reversed = fingerprintDocuments([...docs].reverse());
  expect(reversed.snapshot).toBe(f.snapshot);
  expect(reversed.sequence).not.toBe(f.sequence);
  const edited = fingerprintDocuments(docs.map((d, i) => (i === 3 ? { ...d, text: `${d.text} (edited)` } : d)));
  expect(edited.snapshot).not.toBe(f.snapshot);
  expect(edited.sequence).not.toBe(f.sequence);
  const renamed = fingerprintDocuments(docs.map((d, i) => (i === 3 ? { ...d, doc_id: `${d.doc_id}-2` } : d)));
  expect(renamed.snapshot).not.toBe(f.snapshot);
  // Bytes and the string they decode to are the same content.
  expect(documentContentHash('t', 'café')).toBe(documentContentHash('t', new TextEncoder().encode('café')));
  const streamed = new CorpusFingerprinter();
  for (const d of docs) streamed.add(d.doc_id, documentContentHash(d.title, d.text));
  expect(streamed.digest()).toEqual(f);
});

test('a changed corpus is a new run: removed documents and stale chunks leave the table, which then equals a fresh ingest', async () => {
  const cfg = await locked();
  const first = await shadowIngest({ db, config: cfg, docs, embedder, table: 'scratch_corpus_a', batchSize: 16 });
  expect(first.stale_chunks_removed).toBe(0);
  const runKey = `${cfg.ingest_run_id}@scratch_corpus_a`;
  expect((await getIngestRun(db, runKey))?.attempts).toBe(1);
  // Same corpus again: another attempt of the same run, nothing stale.
  const again = await shadowIngest({ db, config: cfg, docs, embedder, table: 'scratch_corpus_a', batchSize: 16 });
  expect(again.stale_chunks_removed).toBe(0);
  expect((await getIngestRun(db, runKey))?.attempts).toBe(2);

  // The corpus changes: two documents removed, one edited (its chunks change), one added.
  const removed = [docs[1].doc_id, docs[5].doc_id];
  const edited = docs[8];
  const changed: CorpusDoc[] = [
    ...docs.filter((d) => !removed.includes(d.doc_id)).map((d) => (d === edited ? { ...d, text: `A new first paragraph.\n\n${d.text}` } : d)),
    { ...docs[2], doc_id: 'added-doc', title: 'Added later', text: 'A document added after the first ingest. It explains how a team rotates the signing keys of its package mirror every quarter, and who approves the rotation.' },
  ];
  const store = new ChunkStore(db, 'scratch_corpus_a', embedder.dims);
  const before = await db.query<{ doc_id: string; n: number }>(`SELECT doc_id, count(*)::int AS n FROM scratch_corpus_a GROUP BY doc_id`);
  const rowsOfRemoved = before.rows.filter((r) => removed.includes(r.doc_id)).reduce((s, r) => s + r.n, 0);
  expect(rowsOfRemoved).toBeGreaterThan(0);

  const second = await shadowIngest({ db, config: cfg, docs: changed, embedder, table: 'scratch_corpus_a', batchSize: 16 });
  expect(second.docs_removed).toBe(2);
  expect(second.stale_chunks_removed).toBeGreaterThan(rowsOfRemoved); // plus the edited document's old chunks
  expect(second.corpus_fingerprint).toBe(fingerprintDocuments(changed).snapshot);
  expect(second.corpus_fingerprint).not.toBe(first.corpus_fingerprint);
  const run = await getIngestRun(db, runKey);
  expect(run).toMatchObject({ attempts: 1, status: 'done', corpus_fingerprint: fingerprintDocuments(changed).sequence });
  expect(await docIds('scratch_corpus_a')).toEqual([...new Set(changed.map((d) => d.doc_id))].sort());

  // Exactly what an ingest of the changed corpus into an empty table holds.
  await shadowIngest({ db, config: cfg, docs: changed, embedder, table: 'scratch_corpus_fresh', batchSize: 16 });
  expect(await store.ids()).toEqual(await new ChunkStore(db, 'scratch_corpus_fresh', embedder.dims).ids());
  expect(second.rows_in_table).toBe(second.chunks);
});

test('a resumed ingest trusts a cursor only over the corpus it was taken on', async () => {
  const cfg = await locked();
  const seqA = fingerprintDocuments(docs).sequence;
  let cursor = 0;
  let n = 0;
  await expect(
    shadowIngest({ db, config: cfg, docs, embedder, table: 'scratch_corpus_resume', batchSize: 8, onProgress: (p) => { cursor = p.docsDone; if (++n === 2) throw new Error('worker lost'); } }),
  ).rejects.toThrow('worker lost');
  expect(cursor).toBeGreaterThan(0);

  // The corpus changed before the retry: the cursor (and the stored run) are for another sequence.
  const changed = docs.slice(2);
  const refused = await shadowIngest({ db, config: cfg, docs: changed, embedder, table: 'scratch_corpus_resume', batchSize: 8, startCursor: cursor, startCursorCorpus: seqA });
  expect(refused.resumed_from).toBe(0);
  expect(refused.cursor_refused).toMatch(new RegExp(`^cursor ${cursor} was taken over corpus ${seqA.slice(0, 12)}, this is ${fingerprintDocuments(changed).sequence.slice(0, 12)}: starting at 0$`));
  expect(refused.docs_removed).toBe(2);
  expect(refused.rows_in_table).toBe(refused.chunks);

  // Over the same corpus the cursor is used.
  const seqChanged = fingerprintDocuments(changed).sequence;
  const trusted = await shadowIngest({ db, config: cfg, docs: changed, embedder, table: 'scratch_corpus_resume', batchSize: 8, startCursor: 3, startCursorCorpus: seqChanged });
  expect(trusted).toMatchObject({ resumed_from: 3, cursor_refused: null, stale_chunks_removed: 0 });
});

test('the shadowIngest activity heartbeats the corpus fingerprint and ignores a heartbeat cursor over another corpus', async () => {
  const cfg = await locked();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-corpus-'));
  const dataset = { ...(await faqSubset(6)), docs } as Dataset;
  const plane = new DataPlane({ db, dataset, loadEmbedder: async () => embedder, indexDir: path.join(tmp, 'indexes'), manifestDir: path.join(tmp, 'eval'), ingestBatchSize: 8 });
  try {
    const logger = new DefaultLogger('ERROR');
    const beats: IngestHeartbeat[] = [];
    const env = new MockActivityEnvironment(undefined, { logger });
    env.on('heartbeat', (d: IngestHeartbeat) => beats.push(d));
    await env.run(() => plane.shadowIngest({ locked: cfg, table: 'scratch_corpus_dp', dryRun: true }));
    const seq = fingerprintDocuments(docs).sequence;
    expect(beats.length).toBeGreaterThan(1);
    for (const b of beats) expect(b.corpusFingerprint).toBe(seq);

    // A retry whose last heartbeat was taken over another corpus (or recorded none) does not jump ahead.
    for (const stale of [{ ...beats[0], cursor: 5, corpusFingerprint: 'f'.repeat(64) }, { ...beats[0], cursor: 5, corpusFingerprint: undefined }]) {
      const retry = new MockActivityEnvironment({ heartbeatDetails: stale, attempt: 2 }, { logger });
      await retry.run(() => plane.shadowIngest({ locked: cfg, table: 'scratch_corpus_dp', dryRun: true }));
      const r = await getIngestRun(db, `${cfg.ingest_run_id}@scratch_corpus_dp`);
      expect((r?.report as { resumed_from: number; cursor_refused: string | null }).resumed_from).toBe(0);
      expect((r?.report as { cursor_refused: string | null }).cursor_refused).toMatch(/^cursor 5 was taken over corpus /);
    }
    // The matching one is trusted.
    const good = new MockActivityEnvironment({ heartbeatDetails: { ...beats[0], cursor: 5 }, attempt: 2 }, { logger });
    await good.run(() => plane.shadowIngest({ locked: cfg, table: 'scratch_corpus_dp', dryRun: true }));
    expect(((await getIngestRun(db, `${cfg.ingest_run_id}@scratch_corpus_dp`))?.report as { resumed_from: number }).resumed_from).toBe(5);
  } finally {
    await plane.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
