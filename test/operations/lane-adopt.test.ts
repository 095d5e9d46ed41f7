/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// `bakeoff lane adopt` (issue 16 item 4) on a scratch database of the REAL PostgreSQL + pgvector of the
// global setup, with the real MiniLM model and real FAISS. The team's table is built here in the seeds'
// document_chunks schema from FAQ documents (paragraph chunks, embedded by the real model). The first
// adoption and a refusal run the CLI as a process (what an operator's shell does); the other refusals
// run it in-process (same program, captured output) to keep the file fast.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataPlane } from '../../src/activities/data-plane';
import { AdoptRefused, adoptLane } from '../../src/activities/lane-adopt';
import { openDb, type Db } from '../../src/platform/db';
import { modelsDir } from '../../src/platform/paths';
import { ChunkStore } from '../../src/rag/chunk-store';
import { defaultBaseline, lockConfig, type LockedConfig } from '../../src/rag/config';
import { readIndexPointer } from '../../src/rag/serving-index';
import { toVectorLiteral } from '../../src/rag/vector-codec';
import { pointerHistory, readPointer } from '../../src/store/pointer';
import { bakeoffBinDir, bakeoffInProcess, run } from '../support/cli';
import { identityOf, faqSubset, MemoEmbedder, realEmbedder } from '../support/rag-fixture';
import { freshPgDatabase } from '../support/serve-fixture';

let db: Db;
let home: string;
let env: NodeJS.ProcessEnv;
let embedder: MemoEmbedder;
let configFile: string;
let locked: LockedConfig;
interface TeamRow {
  doc_id: string;
  chunk_index: number;
  text: string;
  vector: Float32Array;
}
let rows: TeamRow[];

const SEEDS_DDL = (table: string, dims = 384, extra = '') => `
  CREATE TABLE ${table} (
    id bigserial PRIMARY KEY, doc_id text, chunk_index integer, embedding_text text, bm25_text text,
    embedding_token_count integer, chunk_version text, ingest_run_id text, embedding vector(${dims})${extra}
  )`;

async function fillTeamTable(table: string, data: TeamRow[], vectorOf: (r: TeamRow, i: number) => ArrayLike<number> = (r) => r.vector): Promise<void> {
  for (const [i, r] of data.entries()) {
    await db.query(
      `INSERT INTO ${table} (doc_id, chunk_index, embedding_text, bm25_text, embedding_token_count, chunk_version, ingest_run_id, embedding)
       VALUES ($1, $2, $3, $3, $4, 'team_v3', 'team-run-7', $5::vector)`,
      [r.doc_id, r.chunk_index, r.text, embedder.embeddingTokens(r.text), toVectorLiteral(Array.from(vectorOf(r, i)))],
    );
  }
}

function writeConfig(chunkVersion: string): { file: string; locked: LockedConfig } {
  const candidate = defaultBaseline(identityOf(embedder), chunkVersion, 'team');
  const file = path.join(home, `${chunkVersion}.json`);
  fs.writeFileSync(file, JSON.stringify(candidate));
  return { file, locked: lockConfig(candidate) };
}

async function tableExists(name: string): Promise<boolean> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`, [name]);
  return r.rows[0].n > 0;
}

beforeAll(async () => {
  const url = await freshPgDatabase('lane_adopt_test');
  db = await openDb({ url });
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-adopt-'));
  env = { ...process.env, DATABASE_URL: url, BAKEOFF_HOME: home, PATH: `${bakeoffBinDir()}:${process.env.PATH}` };
  embedder = new MemoEmbedder(await realEmbedder());
  // The team's chunks: up to three paragraphs of each of 14 FAQ documents, embedded by the real model.
  const docs = (await faqSubset(8)).docs.slice(0, 14);
  rows = [];
  for (const d of docs) {
    const paras = d.text.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > 40).slice(0, 3);
    paras.forEach((text, chunk_index) => rows.push({ doc_id: d.doc_id, chunk_index, text, vector: new Float32Array(0) }));
  }
  const vectors = await embedder.embed(rows.map((r) => r.text));
  rows.forEach((r, i) => (r.vector = vectors[i]));
  await db.exec(SEEDS_DDL('team_chunks'));
  await fillTeamTable('team_chunks', rows);
  ({ file: configFile, locked } = writeConfig('v512_team'));
}, 120_000);

afterAll(async () => {
  await db?.close();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

test('adopt (as a process): the team table becomes the lane\'s live baseline, vectors as stored, FAISS built, config active', async () => {
  const res = await run('bakeoff', ['lane', 'adopt', '--lane', 'team', '--table', 'team_chunks', '--config', configFile, '--by', 'carol'], { env, timeoutMs: 120_000 });
  expect(res.stderr).not.toMatch(/Error:|at .*\.ts:\d+/);
  expect(res.code).toBe(0);
  const documents = new Set(rows.map((r) => r.doc_id)).size;
  expect(res.stdout).toContain(`lane team: live table ${locked.shadow_table} (${rows.length} chunks of ${documents} documents from team_chunks.embedding, 384 dims), config ${locked.config_hash.slice(0, 16)}…, pointer v1`);

  const pointer = await readPointer(db, 'team');
  expect(pointer).toMatchObject({ liveTable: locked.shadow_table, liveConfigHash: locked.config_hash, updatedBy: 'carol' });
  const indexes = readIndexPointer(path.join(home, 'indexes'), locked.shadow_table);
  expect(indexes).toMatchObject({ rows: rows.length, ivf: pointer!.liveIndex, ingest_run_id: locked.ingest_run_id, embedder: 'all-MiniLM-L6-v2' });
  expect(fs.existsSync(path.join(pointer!.liveIndex!, 'SHA256SUMS'))).toBe(true);
  expect(JSON.parse(fs.readFileSync(path.join(home, 'indexes', locked.shadow_table, 'adopted.json'), 'utf8'))).toMatchObject({ source_table: 'team_chunks', source_chunk_versions: ['team_v3'], rows: rows.length });
  const active = await db.query<{ config_hash: string }>(`SELECT config_hash FROM rag_configs WHERE status = 'active'`);
  expect(active.rows[0].config_hash).toBe(locked.config_hash);

  // The stored vectors were copied, not recomputed: identical to the team's, under the config's identity.
  const store = new ChunkStore(db, locked.shadow_table, 384);
  expect(await store.count()).toBe(rows.length);
  const copied = await store.fetchByIds(['5']);
  const team = await db.query<{ embedding_text: string }>(`SELECT embedding_text FROM team_chunks WHERE id = 5`);
  expect(copied[0]).toMatchObject({ embedding_text: team.rows[0].embedding_text, ingest_run_id: locked.ingest_run_id, chunk_version: locked.chunk_version, config_hash: locked.config_hash });
  const same = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM team_chunks t JOIN ${locked.shadow_table} c ON c.chunk_id = t.id::text
      WHERE c.embedding = t.embedding AND c.doc_id = t.doc_id AND c.chunk_index = t.chunk_index AND c.token_count = t.embedding_token_count`,
  );
  expect(same.rows[0].n).toBe(rows.length);
  expect(Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM team_chunks')).rows[0].n)).toBe(rows.length); // the team's table untouched

  // The lane serves: the data plane's retriever over the adopted table and its IVF index finds a chunk by its own text.
  // No labelled cases: no reranker is trained (the FAQ's questions are not this table's).
  const dataset = { ...(await faqSubset(8)), cases: [] };
  const plane = new DataPlane({ db, dataset, indexDir: path.join(home, 'indexes'), manifestDir: path.join(home, 'eval'), loadEmbedder: async () => embedder, rerankAudit: false });
  try {
    const side = await plane.side(locked.shadow_table, pointer!.liveIndex);
    expect(side.ivf).not.toBeNull();
    const probe = rows[7];
    const result = await side.retriever.retrieve(probe.text);
    expect(result.snapshot[0].doc_id).toBe(probe.doc_id);
  } finally {
    await plane.close();
  }
}, 180_000);

test('a lane with a live pointer is refused without --force (as a process): one line, nothing changed', async () => {
  const before = await readPointer(db, 'team');
  const res = await run('bakeoff', ['lane', 'adopt', '--lane', 'team', '--table', 'team_chunks', '--config', configFile], { env, timeoutMs: 120_000 });
  expect(res.code).toBe(2);
  expect(res.stderr.trim()).toBe(
    `bakeoff: nothing adopted: lane 'team' already has a live pointer (live table ${locked.shadow_table}, pointer v1): pass --force to replace its baseline with team_chunks`,
  );
  expect(await readPointer(db, 'team')).toEqual(before);
}, 120_000);

test('--force replaces the baseline (restore + cache epoch), and is refused while a bakeoff has a candidate on the lane', async () => {
  const second = writeConfig('v512_team_b');
  const res = await bakeoffInProcess(['lane', 'adopt', '--lane', 'team', '--table', 'team_chunks', '--config', second.file, '--force', '--by', 'dave'], env);
  expect(res.stderr).not.toContain('bakeoff:');
  expect(res.code).toBe(0);
  expect(res.stdout).toContain(`replaced live table ${locked.shadow_table} (pointer v1)`);
  const pointer = await readPointer(db, 'team');
  expect(pointer).toMatchObject({ liveTable: second.locked.shadow_table, liveConfigHash: second.locked.config_hash, cacheEpoch: 1 });
  expect((await pointerHistory(db, 'team')).map((h) => h.action)).toEqual(['init', 'restore', 'cache-clear']);

  await db.query(`UPDATE serving_pointer SET candidate_table = 'document_chunks_vcand', canary_percent = 10 WHERE lane = 'team'`);
  const third = writeConfig('v512_team_c');
  const refused = await bakeoffInProcess(['lane', 'adopt', '--lane', 'team', '--table', 'team_chunks', '--config', third.file, '--force'], env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toBe(`bakeoff: nothing adopted: lane 'team' has a bakeoff in flight (candidate document_chunks_vcand at 10 %, mirror none): abort it first, even with --force`);
  expect(await tableExists(third.locked.shadow_table)).toBe(false);
}, 180_000);

test('the config may name any embedder in BAKEOFF_MODEL_DIR (a sentence-transformers copy of MiniLM); a model dir without pooling is one line', async () => {
  const models = path.join(home, 'models');
  const copy = (name: string, withPooling: boolean) => {
    const dir = path.join(models, name);
    fs.cpSync(path.join(modelsDir, 'all-MiniLM-L6-v2'), dir, { recursive: true });
    fs.rmSync(path.join(dir, 'manifest.json'));
    if (withPooling) {
      fs.mkdirSync(path.join(dir, '1_Pooling'));
      fs.writeFileSync(path.join(dir, '1_Pooling', 'config.json'), JSON.stringify({ word_embedding_dimension: 384, pooling_mode_mean_tokens: true }));
    }
  };
  copy('team-minilm', true);
  copy('team-nopool', false);
  const own = (name: string, chunkVersion: string) => {
    const candidate = defaultBaseline({ embedder: name, tokenizer: name, tokenizer_hash: embedder.tokenizerHash }, chunkVersion, 'team');
    const file = path.join(home, `${chunkVersion}.json`);
    fs.writeFileSync(file, JSON.stringify(candidate));
    return { file, locked: lockConfig(candidate) };
  };
  const withModels = { ...env, BAKEOFF_MODEL_DIR: models };
  const good = own('team-minilm', 'v512_own');
  const res = await run('bakeoff', ['lane', 'adopt', '--lane', 'own', '--table', 'team_chunks', '--config', good.file], { env: withModels, timeoutMs: 120_000 });
  expect(res.stderr).not.toMatch(/bakeoff:/);
  expect(res.code).toBe(0);
  expect(readIndexPointer(path.join(home, 'indexes'), good.locked.shadow_table)).toMatchObject({ embedder: 'team-minilm', rows: rows.length });
  expect(await readPointer(db, 'own')).toMatchObject({ liveTable: good.locked.shadow_table });

  const bad = own('team-nopool', 'v512_nopool');
  const refused = await run('bakeoff', ['lane', 'adopt', '--lane', 'nopool', '--table', 'team_chunks', '--config', bad.file], { env: withModels, timeoutMs: 120_000 });
  expect(refused.code).toBe(2);
  expect(refused.stderr.trim()).toBe(
    `bakeoff: embedding model 'team-nopool': ${path.join(models, 'team-nopool', '1_Pooling', 'config.json')}: missing, and no manifest.json names the pooling: add it (sentence-transformers layout) with pooling_mode_mean_tokens or pooling_mode_cls_token true`,
  );
  expect(await readPointer(db, 'nopool')).toBeNull();
  expect(await tableExists(bad.locked.shadow_table)).toBe(false);
}, 180_000);

test('the same on PGlite (the demo\'s embedded store): adopted in-process, and a non-unit table refused', async () => {
  const lite = await openDb();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-adopt-lite-'));
  const plane = new DataPlane({ db: lite, dataset: { ...(await faqSubset(8)), cases: [] }, indexDir: path.join(tmp, 'indexes'), manifestDir: path.join(tmp, 'eval'), loadEmbedder: async () => embedder, rerankAudit: false });
  try {
    const some = rows.slice(0, 12);
    await lite.exec(SEEDS_DDL('team_lite'));
    for (const r of some) {
      await lite.query(
        `INSERT INTO team_lite (doc_id, chunk_index, embedding_text, bm25_text, embedding_token_count, chunk_version, ingest_run_id, embedding)
         VALUES ($1, $2, $3, $3, $4, 'team_v3', 'team-run-7', $5::vector)`,
        [r.doc_id, r.chunk_index, r.text, embedder.embeddingTokens(r.text), toVectorLiteral(Array.from(r.vector))],
      );
    }
    const report = await adoptLane({ db: lite, plane, lane: 'default', table: 'team_lite', locked, by: 'erin' });
    expect(report).toMatchObject({ liveTable: locked.shadow_table, rows: some.length, dims: 384, replaced: null });
    expect(await readPointer(lite, 'default')).toMatchObject({ liveTable: locked.shadow_table, liveIndex: report.index.ivf });
    const side = await plane.side(locked.shadow_table, report.index.ivf);
    expect((await side.retriever.retrieve(some[4].text)).snapshot[0].doc_id).toBe(some[4].doc_id);

    await lite.exec(SEEDS_DDL('team_lite_bad'));
    await lite.query(
      `INSERT INTO team_lite_bad (doc_id, chunk_index, embedding_text, bm25_text, embedding_token_count, chunk_version, ingest_run_id, embedding)
       VALUES ('d', 0, 'x', 'x', 3, 'v', 'r', $1::vector)`,
      [toVectorLiteral(Array.from(some[0].vector, (x) => x * 0.5))],
    );
    const other = writeConfig('v512_lite_bad');
    const err = await adoptLane({ db: lite, plane, lane: 'other', table: 'team_lite_bad', locked: other.locked, by: 'erin' }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AdoptRefused);
    expect((err as AdoptRefused).problems).toEqual([
      `team_lite_bad.embedding: 1 of 1 vectors are not unit length (|‖v‖−1| ≥ 0.001; id "1" has norm 0.5000): the inner-product indexes rank by cosine only on unit-normalised vectors; normalise them (v / ‖v‖) first`,
    ]);
    expect(await readPointer(lite, 'other')).toBeNull();
  } finally {
    await plane.close();
    await lite.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 180_000);

describe('tables that cannot be adopted: every problem one line, nothing written', () => {
  const expectRefused = async (table: string, lane: string, chunkVersion: string): Promise<string[]> => {
    const cfg = writeConfig(chunkVersion);
    const res = await bakeoffInProcess(['lane', 'adopt', '--lane', lane, '--table', table, '--config', cfg.file], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^bakeoff: nothing adopted: /);
    expect(await readPointer(db, lane)).toBeNull();
    expect(await tableExists(cfg.locked.shadow_table)).toBe(false);
    const lines = res.stderr.split('\n');
    return lines.length === 1 ? [lines[0].replace(/^bakeoff: nothing adopted: /, '')] : lines.slice(1).map((l) => l.trim());
  };

  test('vectors of another dimension than the config\'s embedder', async () => {
    await db.exec(SEEDS_DDL('team_dims8', 8));
    await fillTeamTable('team_dims8', rows.slice(0, 3), (r) => r.vector.slice(0, 8).map((x, _i, a) => x / Math.hypot(...a)));
    expect(await expectRefused('team_dims8', 'dims', 'v512_dims')).toEqual([
      `team_dims8.embedding: 3 of 3 vectors have 8 dimensions; the config's embedder all-MiniLM-L6-v2 makes 384`,
    ]);
  });

  test('vectors that are not unit length, and NULL texts: both reported', async () => {
    await db.exec(SEEDS_DDL('team_norms'));
    await fillTeamTable('team_norms', rows.slice(0, 6), (r, i) => (i % 3 === 0 ? r.vector.map((x) => x * 2) : r.vector));
    await db.query(`UPDATE team_norms SET bm25_text = NULL WHERE id = 2`);
    expect(await expectRefused('team_norms', 'norms', 'v512_norms')).toEqual([
      'team_norms.bm25_text: 1 of 6 rows are NULL',
      `team_norms.embedding: 2 of 6 vectors are not unit length (|‖v‖−1| ≥ 0.001; id "1" has norm 2.000): the inner-product indexes rank by cosine only on unit-normalised vectors; normalise them (v / ‖v‖) first`,
    ]);
  });

  test('missing and mistyped columns, and a table with two vector columns', async () => {
    await db.exec(`CREATE TABLE team_cols (id text, doc_id text, chunk_index text, embedding_text text, bm25_text text, chunk_version text, ingest_run_id text, embedding vector(384))`);
    expect(await expectRefused('team_cols', 'cols', 'v512_cols')).toEqual([
      'team_cols.chunk_index: type text, expected an integer',
      `team_cols: column embedding_token_count is missing (expected the document_chunks schema: id, doc_id, chunk_index, embedding_text, bm25_text, embedding_token_count, chunk_version, ingest_run_id, plus a pgvector column)`,
    ]);
    await db.exec(SEEDS_DDL('team_two_vectors', 384, ', embedding_v2 vector(384)'));
    expect(await expectRefused('team_two_vectors', 'two', 'v512_two')).toEqual(['team_two_vectors: several pgvector columns (embedding, embedding_v2): name one with --vector-column']);
  });

  test('a table that does not exist, and an empty one', async () => {
    expect(await expectRefused('no_such_table', 'none', 'v512_none')).toEqual(['table no_such_table does not exist']);
    await db.exec(SEEDS_DDL('team_empty'));
    expect(await expectRefused('team_empty', 'empty', 'v512_empty')).toEqual(['team_empty is empty: there is nothing to serve']);
  });
});
