/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Hostile documents through the real shadow ingest (src/rag/ingest: MiniLM tokenizer, near-duplicate
// removal, real PostgreSQL + pgvector): binary files, invalid UTF-8, lone surrogates, a 50 MB single
// line, a whitespace-free base64 blob under the size cap, zero-width and RTL characters, malformed
// records, and thousands of duplicates. Each bad document is skipped and counted under its reason;
// the good ones (hostile characters included) are stored intact; nothing crashes, and ingesting the
// same corpus again changes nothing. Chunk vectors come from the real model (memoised on disk).
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openDb, quoteIdent, type Db } from '../../src/platform/db';
import { subsetForTests } from '../../src/data/dataset';
import { shadowIngest, type IngestReport, type SkipReason } from '../../src/rag/ingest';
import { bySize, ReliabilityRecorder } from '../support/reliability-record';
import { candidateConfig, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

const PG = process.env.BAKEOFF_TEST_PG_URL!;
const recorder = new ReliabilityRecorder('input-documents');

const DUPLICATE_COPIES = bySize(1_000, 10_000);
const SAME_ID_REPEATS = bySize(200, 2_000);
const BLOB_BYTES = bySize(15_000, 300_000);
const FIFTY_MB = 50 * 1024 * 1024;

interface HostileClass {
  name: string;
  docs: unknown[];
  /** Every document of the class is skipped under this reason (undefined: ingested). */
  skip?: SkipReason;
  /** Documents that must end up stored (their doc_ids appear in the table). */
  stored?: string[];
}

function classes(realText: string): HostileClass[] {
  const zw = 'Zero\u200Bwidth\u200Cjoiners\u200D and\uFEFF word\u2060joiners inside\u200B every\u200B word of a sentence that talks about Perl arrays and hashes.';
  const rtl = 'Mixed direction: שלום עולם and مرحبا بالعالم with an override \u202Eelif.exe\u202C and \u200Fmarks\u200E around words about Python lists.';
  const blob = `attachment: ${Buffer.from(Array.from({ length: BLOB_BYTES }, (_, i) => (i * 7919) % 251)).toString('base64')} end of attachment`;
  return [
    {
      name: 'binary (NUL bytes, control characters, file headers)',
      skip: 'binary',
      docs: [
        { doc_id: 'png', title: 'PNG', text: `\u0089PNG\r\n\u001a\n\u0000\u0000\u0000\rIHDR${'\u0000'.repeat(20)}` },
        { doc_id: 'elf', title: 'ELF', text: `\u007fELF\u0002\u0001\u0001${'\u0000'.repeat(9)}` },
        { doc_id: 'controls', title: 'Controls', text: 'a\u0001b\u0002c\u0003d\u0004e\u0005f\u0006g\u0007h\u0008'.repeat(20) },
      ],
    },
    {
      name: 'invalid UTF-8 (bytes) and lone surrogates',
      skip: 'invalid_utf8',
      docs: [
        { doc_id: 'bad-cont', title: 'x', text: Uint8Array.from([0x61, 0x80, 0x62]) },
        { doc_id: 'overlong', title: 'x', text: Uint8Array.from([0xc0, 0xaf, 0x61]) },
        { doc_id: 'truncated', title: 'x', text: Uint8Array.from([0x61, 0xe2, 0x82]) },
        { doc_id: 'latin1', title: 'x', text: Uint8Array.from([0x63, 0x61, 0x66, 0xe9]) },
        { doc_id: 'surrogate', title: 'x', text: 'broken \uD800 text' },
        { doc_id: 'lossy', title: 'x', text: 'decoded \uFFFD\uFFFD lossily' },
      ],
    },
    { name: 'a 50 MB single line', skip: 'too_large', docs: [{ doc_id: 'fifty-mb', title: 'Huge', text: 'word '.repeat(FIFTY_MB / 5) }] },
    {
      name: 'malformed records (not objects, missing or mistyped fields, over-long ids)',
      skip: 'malformed',
      docs: [null, 42, 'a string', [], {}, { doc_id: 5, text: 'x' }, { doc_id: 'no-text' }, { doc_id: 'obj-text', text: { a: 1 } }, { doc_id: 'x'.repeat(501), text: 'long id' }, { doc_id: '', text: 'empty id' }],
    },
    { name: 'empty and whitespace-only documents', skip: 'empty', docs: [{ doc_id: 'empty', text: '' }, { doc_id: 'blank', text: ' \n\t\u3000 ' }] },
    { name: 'zero-width characters', stored: ['zero-width'], docs: [{ doc_id: 'zero-width', title: 'ZW', text: zw }] },
    { name: 'RTL text and direction overrides', stored: ['rtl'], docs: [{ doc_id: 'rtl', title: 'RTL \u202Etitle', text: rtl }] },
    { name: `a ${Math.round(BLOB_BYTES / 1000)} kB base64 blob without whitespace`, stored: ['blob'], docs: [{ doc_id: 'blob', title: 'Blob', text: blob }] },
    {
      // Near-duplicates of the first good document: every one of their chunks is removed.
      name: `${DUPLICATE_COPIES} verbatim copies of one document under new ids`,
      docs: Array.from({ length: DUPLICATE_COPIES }, (_, i) => ({ doc_id: `copy-${i}`, title: 'Copy', text: realText })),
    },
    {
      name: `${SAME_ID_REPEATS} repeats of one doc_id`,
      skip: 'duplicate_doc_id',
      // The first 'copy-0' (above) wins; every later document with that id is skipped.
      docs: Array.from({ length: SAME_ID_REPEATS }, (_, i) => ({ doc_id: 'copy-0', title: 'Same id', text: `${realText} variant ${i}` })),
    },
  ];
}

describe('hostile documents through the real shadow ingest', () => {
  let db: Db;
  let dbName: string;
  let embedder: MemoEmbedder;

  async function admin(sql: string): Promise<void> {
    const c = new Client({ connectionString: PG });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  }

  beforeAll(async () => {
    dbName = `hostile_docs_${randomBytes(5).toString('hex')}`;
    await admin(`CREATE DATABASE ${quoteIdent(dbName)}`);
    const url = new URL(PG);
    url.pathname = `/${dbName}`;
    db = await openDb({ url: url.toString(), poolSize: 4 });
    embedder = new MemoEmbedder(await realEmbedder());
  });

  afterAll(async () => {
    await db?.close();
    await admin(`DROP DATABASE IF EXISTS ${quoteIdent(dbName)} WITH (FORCE)`);
  });

  test('every bad document is skipped under its reason, the rest stored intact, nothing crashes, a re-run changes nothing', async () => {
    const real = await subsetForTests(2);
    const goodDocs = real.docs.slice(0, 6);
    const copied = goodDocs[0].text;
    const hostile = classes(copied);
    const docs: unknown[] = [...goodDocs, ...hostile.flatMap((c) => c.docs)];
    const config = candidateConfig(embedder, 'v450_hostile');

    const t0 = Date.now();
    const report: IngestReport = await shadowIngest({ db, config, docs, embedder });
    const ms = Date.now() - t0;

    const expectedSkips: Record<string, number> = {};
    for (const c of hostile) if (c.skip) expectedSkips[c.skip] = (expectedSkips[c.skip] ?? 0) + c.docs.length;
    for (const [reason, n] of Object.entries(report.skipped)) expect([reason, n]).toEqual([reason, expectedSkips[reason] ?? 0]);
    const ingestedDocs = goodDocs.length + hostile.filter((c) => !c.skip).reduce((n, c) => n + c.docs.length, 0);
    expect(report.docs_total).toBe(docs.length);
    expect(report.docs_ingested).toBe(ingestedDocs);
    expect(report.docs_ingested + Object.values(report.skipped).reduce((a, b) => a + b, 0)).toBe(docs.length);

    // Stored rows: exactly the kept chunks; every text valid UTF-8 without NUL; the hostile-but-valid
    // documents are there with their characters intact.
    const table = config.shadow_table;
    const rows = await db.query<{ chunk_id: string; doc_id: string; embedding_text: string; bm25_text: string; token_count: number }>(
      `SELECT chunk_id, doc_id, embedding_text, bm25_text, token_count FROM ${quoteIdent(table)}`,
    );
    expect(rows.rows.length).toBe(report.chunks);
    expect(new Set(rows.rows.map((r) => r.chunk_id)).size).toBe(rows.rows.length);
    for (const r of rows.rows) {
      expect(r.bm25_text.includes('\u0000')).toBe(false);
      expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(r.bm25_text)).toBe(false);
      expect(r.token_count).toBeLessThanOrEqual(config.chunk_size);
    }
    const byDoc = (id: string) => rows.rows.filter((r) => r.doc_id === id);
    for (const c of hostile) for (const id of c.stored ?? []) expect(byDoc(id).length).toBeGreaterThan(0);
    expect(byDoc('zero-width')[0].bm25_text).toContain('\u200B');
    expect(byDoc('rtl')[0].bm25_text).toContain('\u202E');
    // Thousands of copies: only the first copy (which duplicates goodDocs[0] too) may add nothing new.
    const copyRows = rows.rows.filter((r) => r.doc_id.startsWith('copy-'));
    expect(copyRows.length).toBe(0);
    expect(report.duplicates_removed).toBeGreaterThanOrEqual(DUPLICATE_COPIES);

    // The same corpus again: the same rows, nothing added, nothing lost.
    const again = await shadowIngest({ db, config, docs, embedder });
    const rows2 = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(table)}`);
    expect(again.chunks).toBe(report.chunks);
    expect(rows2.rows[0].n).toBe(rows.rows.length);

    for (const c of hostile) {
      recorder.input({
        inputClass: `document: ${c.name}`,
        tried: c.docs.length,
        outcome: c.skip ? `skipped and counted as '${c.skip}'` : c.name.includes('copies') ? `ingested once: ${report.duplicates_removed} near-duplicate chunks removed, 0 copy rows stored` : 'ingested intact (characters kept)',
        rejected: c.skip ? c.docs.length : 0,
        wronglyAccepted: 0,
        crashes: 0,
      });
    }
    recorder.measure({ name: 'hostile corpus ingest', value: ms, unit: 'ms', detail: `${docs.length} documents (${(FIFTY_MB / 1e6).toFixed(0)} MB line included), ${report.chunks} chunks stored` });
  });
});
