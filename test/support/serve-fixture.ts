// A small serving lane over real data for the serving tests: a slice of the FAQ dataset (the cases
// with the shortest gold documents plus short distractors, so the real MiniLM ingest of two configs
// takes seconds), ingested into a real database by the data plane itself (chunking, dedup,
// embeddings, FAISS flat + IVF with the nprobe sweep), a learned reranker per table trained on the
// train split, the lane's pointer, and τ calibrated on the train split against the baseline.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initLane } from '../../src/store/pointer';
import { ensurePlatformSchema } from '../../src/store';
import { DataPlane } from '../../src/activities/data-plane';
import { loadDataset, type Dataset } from '../../src/data/dataset';
import type { Db } from '../../src/platform/db';
import type { LockedConfig } from '../../src/rag/config';
import { EncoderPool } from '../../src/serve/caching-encoder';
import { calibrateTau, type TauCalibration } from '../../src/serve/quality-tau';
import type { SearchResponse } from '../../src/serve/search-service';
import { loadServingSide } from '../../src/serve/serving-side';
import { defaultCandidate, lockConfig } from '../../src/rag/config';
import { baselineConfig, identityOf, MemoEmbedder, realEmbedder } from './rag-fixture';

export interface FixtureSide {
  config: LockedConfig;
  table: string;
  ivf: string;
  chunks: number;
}

export interface ServingFixture {
  dataset: Dataset;
  embedder: MemoEmbedder;
  indexDir: string;
  lane: string;
  baseline: FixtureSide;
  candidate: FixtureSide;
  tau: TauCalibration;
  questions: string[];
  cleanup(): void;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The n cases with the shortest gold documents (ties by id), their gold docs and m short distractors. */
export async function shortFaqSlice(nCases: number, nDistractors: number): Promise<Dataset> {
  const full = await loadDataset();
  const len = new Map(full.docs.map((d) => [d.doc_id, d.text.length]));
  const cases = [...full.cases]
    .sort((a, b) => len.get(a.gold_doc_id)! - len.get(b.gold_doc_id)! || (a.case_id < b.case_id ? -1 : 1))
    .slice(0, nCases);
  const gold = new Set(cases.map((c) => c.gold_doc_id));
  const distractors = new Set(
    full.docs
      .filter((d) => !gold.has(d.doc_id) && d.text.length >= 150 && d.text.length <= 700)
      .sort((a, b) => (sha(a.doc_id) < sha(b.doc_id) ? -1 : 1))
      .slice(0, nDistractors)
      .map((d) => d.doc_id),
  );
  return { ...full, docs: full.docs.filter((d) => gold.has(d.doc_id) || distractors.has(d.doc_id)), cases };
}

/**
 * The seeds' candidate chunking (450 tokens, 10 % overlap, dedup at 0.8) without the contextual
 * prefix: the slice's documents fit one chunk, so both tables embed the same texts and the memo pays
 * for the forward passes once. Two real tables, two ingest runs, two fingerprints.
 */
export function servingCandidateConfig(e: { name: string; tokenizerHash: string }): LockedConfig {
  return lockConfig({ ...defaultCandidate(identityOf(e), 'v450_o10_j80_n'), prefix_policy: 'none' }, new Date('2026-11-22T00:00:00Z'));
}

export async function buildServingFixture(
  db: Db,
  opts: { lane?: string; cases?: number; distractors?: number; embedder?: MemoEmbedder } = {},
): Promise<ServingFixture> {
  const dataset = await shortFaqSlice(opts.cases ?? 48, opts.distractors ?? 32);
  const embedder = opts.embedder ?? new MemoEmbedder(await realEmbedder());
  const indexDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-serve-'));
  await ensurePlatformSchema(db);
  const plane = new DataPlane({ db, dataset, indexDir, manifestDir: path.join(indexDir, 'eval'), loadEmbedder: async () => embedder, rerankAudit: false });

  const sides: FixtureSide[] = [];
  for (const config of [baselineConfig(embedder), servingCandidateConfig(embedder)]) {
    const report = await plane.shadowIngest({ locked: config, table: config.shadow_table, dryRun: false });
    if (!report.index) throw new Error(`ingest of ${config.shadow_table} built no index`);
    sides.push({ config, table: config.shadow_table, ivf: report.index.ivf, chunks: report.chunks });
  }
  // Each table's learned reranker was trained by its index build (the data plane) and named by sha256 in its pointer.
  const [baseline, candidate] = sides;
  const lane = opts.lane ?? 'default';
  await initLane(db, { lane, liveTable: baseline.table, liveIndex: baseline.ivf, liveConfigHash: baseline.config.config_hash, by: 'test-fixture' });

  const served = await loadServingSide(
    { table: baseline.table, index: baseline.ivf, configHash: baseline.config.config_hash },
    { db, indexDir, encoderFor: (n) => new EncoderPool(async () => embedder, 0).encoderFor(n), rowCacheSize: 0 },
  );
  const tau = await calibrateTau({
    retriever: served.retriever,
    cases: dataset.cases.filter((c) => c.split === 'train'),
    table: baseline.table,
    ingestRunId: baseline.config.ingest_run_id,
    embedder: embedder.modelId,
  });
  await served.reranker?.service.close();
  return {
    dataset, embedder, indexDir, lane, baseline, candidate, tau,
    questions: dataset.cases.map((c) => c.question),
    cleanup: () => fs.rmSync(indexDir, { recursive: true, force: true }),
  };
}

/** A new, empty database on the suite's PostgreSQL cluster, so each test file owns its tables. */
export async function freshPgDatabase(name: string): Promise<string> {
  const url = process.env.BAKEOFF_TEST_PG_URL;
  if (!url) throw new Error('BAKEOFF_TEST_PG_URL is not set (the jest global setup sets it)');
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  const { Client } = await import('pg');
  const admin = new Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A /search answer or an error body: tests read whichever the status says. */
export type ApiBody = Partial<SearchResponse> & { error?: string; message?: string };

/** POSTs a JSON (or raw) body and returns status, headers and parsed JSON body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: ApiBody }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: ApiBody;
  try {
    json = JSON.parse(text) as ApiBody;
  } catch {
    json = { error: 'not_json', message: text };
  }
  return { status: res.status, headers: res.headers, json };
}
