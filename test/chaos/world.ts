// The world a chaos scenario runs in: a scratch PostgreSQL database with the platform schema, a live
// baseline (ingested for real by the test process: MiniLM tokenizer, FAISS), one pre-built workflow
// bundle for every worker restart, and "clean runs" — the same candidate ingested without any fault,
// whose chunk ids and contents are what a faulted run must end up with.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { createRuntime, type Runtime } from '../../src/activities/runtime';
import { ensureBaselineLane } from '../../src/activities/lane-bootstrap';
import { initLane } from '../../src/store/pointer';
import type { PointerState } from '../../src/activities/types';
import { subsetForTests, type Dataset } from '../../src/data/dataset';
import { quoteIdent, type Db } from '../../src/platform/db';
import { defaultCandidate, lockConfig, type ConfigCandidate, type LockedConfig } from '../../src/rag/config';
import { shadowIngest } from '../../src/rag/ingest';
import { MemoEmbedder, realEmbedder } from '../support/rag-fixture';
import { reliabilityDir } from '../support/reliability-record';
import { prebuildWorkflowBundle } from '../support/worker-process';

/** Labelled FAQ cases in a chaos world (their gold documents plus proportional distractors): 56 documents. */
export const CHAOS_SUBSET_CASES = 6;

export interface ChunkFingerprint {
  table: string;
  rows: number;
  /** chunk_id → md5 over the row's span, texts and vector: what must survive any fault unchanged. */
  byId: Map<string, string>;
}

export interface World {
  db: Db;
  databaseUrl: string;
  /** Indexes/manifests/reports of the workers (the baseline's FAISS index lives here too). */
  stateDir: string;
  logDir: string;
  bundlePath: string;
  dataset: Dataset;
  embedder: MemoEmbedder;
  baseline: { table: string; index: string | null; configHash: string | null; fingerprint: ChunkFingerprint };
  /** A lane serving the shared baseline table, created on first use. */
  lane(name: string): Promise<PointerState>;
  candidate(chunkVersion: string): ConfigCandidate;
  /** The clean run of a candidate: ingested without faults into ref_<version>. */
  cleanRun(locked: LockedConfig): Promise<ChunkFingerprint>;
  close(): Promise<void>;
}

async function admin(url: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A fresh database on the cluster at serverUrl; dropped by the returned drop(). */
export async function scratchDatabase(serverUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`; // generated, identifier-safe
  await admin(serverUrl, `CREATE DATABASE ${quoteIdent(name)}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
  };
}

export async function fingerprintTable(db: Db, table: string): Promise<ChunkFingerprint> {
  const r = await db.query<{ chunk_id: string; h: string }>(
    `SELECT chunk_id, md5(doc_id || '|' || byte_start || '-' || byte_end || '|' || embedding_text || '|' || bm25_text || '|' || embedding::text) AS h
       FROM ${quoteIdent(table)}`,
  );
  return { table, rows: r.rows.length, byId: new Map(r.rows.map((x) => [x.chunk_id, x.h])) };
}

/** Rows of `actual` missing from / not in / different from the clean run. */
export function compareChunks(clean: ChunkFingerprint, actual: ChunkFingerprint): { lost: number; duplicated: number; changed: number } {
  let lost = 0;
  let changed = 0;
  for (const [id, h] of clean.byId) {
    const got = actual.byId.get(id);
    if (got === undefined) lost++;
    else if (got !== h) changed++;
  }
  // chunk_id is the primary key, so a repeat shows up as a row the clean run does not have, or as
  // more rows than distinct ids.
  let extra = 0;
  for (const id of actual.byId.keys()) if (!clean.byId.has(id)) extra++;
  return { lost, duplicated: extra + (actual.rows - actual.byId.size), changed };
}

export interface WorldOptions {
  /** postgres:// URL of a server on which a scratch database is created. */
  serverUrl: string;
  name: string;
  log?: (line: string) => void;
}

export async function createWorld(o: WorldOptions): Promise<World> {
  const scratch = await scratchDatabase(o.serverUrl, `chaos_${o.name}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `bakeoff-${o.name}-`));
  const stateDir = path.join(root, 'state');
  // Worker logs outlive the run: they are what to read when a chaos check fails (and the secret scan reads them).
  const logDir = path.join(reliabilityDir(), 'logs', `${o.name}-${Date.now()}`);
  fs.mkdirSync(logDir, { recursive: true });
  const [bundlePath, dataset, inner] = await Promise.all([prebuildWorkflowBundle(root), subsetForTests(CHAOS_SUBSET_CASES), realEmbedder()]);
  const embedder = new MemoEmbedder(inner);
  const runtime: Runtime = await createRuntime({
    databaseUrl: scratch.url,
    reportsDir: path.join(stateDir, 'reports'),
    dataPlane: { dataset, loadEmbedder: async () => embedder, indexDir: path.join(stateDir, 'indexes'), manifestDir: path.join(stateDir, 'eval') },
    log: o.log,
  });
  const db = runtime.db;
  const first = await ensureBaselineLane({ db, plane: runtime.plane, lane: 'bootstrap', by: 'chaos-setup', log: o.log });
  const baseline = {
    table: first.pointer.liveTable,
    index: first.pointer.liveIndex,
    configHash: first.pointer.liveConfigHash,
    fingerprint: await fingerprintTable(db, first.pointer.liveTable),
  };
  const identity = { embedder: embedder.name, tokenizer: embedder.name, tokenizer_hash: embedder.tokenizerHash };
  const cleanRuns = new Map<string, Promise<ChunkFingerprint>>();

  return {
    db,
    databaseUrl: scratch.url,
    stateDir,
    logDir,
    bundlePath,
    dataset,
    embedder,
    baseline,
    async lane(name) {
      return initLane(db, { lane: name, liveTable: baseline.table, liveIndex: baseline.index, liveConfigHash: baseline.configHash, by: 'chaos-setup' });
    },
    candidate(chunkVersion) {
      return defaultCandidate(identity, chunkVersion, 'chaos');
    },
    cleanRun(locked) {
      let p = cleanRuns.get(locked.config_hash);
      if (!p) {
        const table = `ref_${locked.chunk_version}`;
        p = shadowIngest({ db, config: locked, docs: dataset.docs, embedder, table }).then(() => fingerprintTable(db, table));
        cleanRuns.set(locked.config_hash, p);
      }
      return p;
    },
    async close() {
      await runtime.close();
      await scratch.drop().catch(() => undefined);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export function lock(world: World, chunkVersion: string): LockedConfig {
  return lockConfig(world.candidate(chunkVersion));
}
