/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// The learned reranker as a build artifact (issue 17 item 3, issue 16's registered datasets), against
// the suite's real PostgreSQL, real FAISS and the real MiniLM (its memo): the index build trains the
// reranker once and the pointer names it by sha256; a data plane and a serving side with EMPTY state
// dirs use exactly those bytes (no training); a corrupt artifact is one clear line, not a retrain; a
// registered BEIR dataset with train and dev qrels gets a reranker fitted on its own train split, and
// one without dev cases gets none, said in the build's log once and in the serving side's status.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ensurePlatformSchema } from '../../src/activities';
import { DataPlane } from '../../src/activities/data-plane';
import type { Dataset } from '../../src/data/dataset';
import { lockCorpusSnapshot } from '../../src/data/locked-corpus';
import { addDataset } from '../../src/data/registry';
import { openDb, type Db } from '../../src/platform/db';
import { defaultBaseline, lockConfig } from '../../src/rag/config';
import { LearnedReranker, type RerankerLift } from '../../src/rag/rerank';
import { readPublishedIndexPointer } from '../../src/rag/serving-index';
import { EncoderPool } from '../../src/serve/caching-encoder';
import { loadServingSide, SideLoadError, type SideLoaderDeps } from '../../src/serve/serving-side';
import { ArtifactStore } from '../../src/store/artifacts';
import { writeBeir } from '../support/beir-fixture';
import { candidateConfig, faqSubset, identityOf, MemoEmbedder, realEmbedder } from '../support/rag-fixture';
import { freshPgDatabase } from '../support/serve-fixture';

let db: Db;
let dir: string;
let embedder: MemoEmbedder;
let dataset: Dataset;

beforeAll(async () => {
  db = await openDb({ url: await freshPgDatabase('reranker_by_hash'), poolSize: 4 });
  await ensurePlatformSchema(db);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-reranker-hash-'));
  embedder = new MemoEmbedder(await realEmbedder());
  dataset = await faqSubset(16);
}, 120_000);

afterAll(async () => {
  await db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A machine: its own state dir, its own artifact cache, the shared database. */
async function machine(name: string, o: { home?: string } = {}) {
  const home = path.join(dir, name);
  const artifacts = await ArtifactStore.open(db, { cacheDir: path.join(home, 'artifacts') });
  const logs: string[] = [];
  const plane = new DataPlane({
    db, dataset, home: o.home, indexDir: path.join(home, 'indexes'), manifestDir: path.join(home, 'eval'), artifacts,
    loadEmbedder: async () => embedder, rerankAudit: false, log: (l) => logs.push(l),
  });
  const serving: SideLoaderDeps = { db, indexDir: path.join(home, 'indexes'), encoderFor: (n) => new EncoderPool(async () => embedder, 0).encoderFor(n), rowCacheSize: 0, artifacts };
  return { home, artifacts, plane, logs, serving };
}

/** Reranker model files anywhere under a state dir (a trained-here reranker would leave one). */
function rerankerFiles(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => /reranker-[\w-]+\.json$/.test(path.basename(f)));
}

test('the build trains the reranker once, named by sha256; empty state dirs evaluate and serve with exactly it; a corrupt artifact fails clearly', async () => {
  const a = await machine('a');
  const locked = candidateConfig(embedder);
  const table = locked.shadow_table;
  await a.plane.shadowIngest({ locked, table, dryRun: false }, { claimant: 'reranker-test' });
  const pointer = (await readPublishedIndexPointer(a.artifacts, table))!;
  expect(pointer.reranker_sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(pointer.reranker_source).toBe('faiss-ivf');
  expect(pointer.reranker_absent).toBeUndefined();
  expect(pointer.sweep_sha256).toMatch(/^[0-9a-f]{64}$/);
  const lift = JSON.parse((await a.artifacts.readBytes(pointer.reranker_lift_sha256!)).toString('utf8')) as RerankerLift;
  expect(lift.reranked.cases).toBeGreaterThan(0);
  expect(a.logs.filter((l) => l.startsWith(`reranker for ${table}: trained with the index build`))).toHaveLength(1);
  const modelId = new LearnedReranker(JSON.parse((await a.artifacts.readBytes(pointer.reranker_sha256!)).toString('utf8'))).id;

  // A data worker with an empty state dir evaluates with the published model, training nothing.
  const b = await machine('b');
  const report = await b.plane.evaluate({ side: 'candidate', table, index: null, caseSetRef: 'faq:all', k: 10, maxCases: 4, runLabel: 'reranker-by-hash' });
  expect(report.metrics.hit_rate).toBeGreaterThanOrEqual(0);
  expect(b.logs.some((l) => l.includes('trained'))).toBe(false);
  expect(b.logs).toContain(`reranker for ${table}: sha256:${pointer.reranker_sha256!.slice(0, 12)} published with the index build, loaded by hash`);
  expect((await b.plane.rerankerStats()).map((s) => s.model)).toEqual([modelId]);
  expect(rerankerFiles(b.home)).toEqual([]);

  // A serving replica with an empty state dir serves it too, and its status names the hash.
  const c = await machine('c');
  const spec = { table, index: null, configHash: locked.config_hash };
  const side = await loadServingSide(spec, c.serving);
  expect(side.rerankerStatus).toBe('ready');
  expect(side.rerankerSha256).toBe(pointer.reranker_sha256);
  expect(side.reranker?.id).toBe(modelId);
  expect(rerankerFiles(c.home)).toEqual([]);

  // One byte of the stored model damaged: a fresh worker and a fresh replica refuse it in one line.
  await db.query('UPDATE artifact_chunks SET bytes = set_byte(bytes, 0, (get_byte(bytes, 0) + 1) % 256) WHERE hash = $1 AND seq = 0', [pointer.reranker_sha256]);
  const d = await machine('d');
  const failure = await d.plane.evaluate({ side: 'candidate', table, index: null, caseSetRef: 'faq:all', k: 10, maxCases: 4, runLabel: 'corrupt' }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect((failure as ApplicationFailure).type).toBe('RerankerUnavailable');
  expect((failure as ApplicationFailure).nonRetryable).toBe(true);
  const line = `the published reranker sha256:${pointer.reranker_sha256} of ${table} cannot be loaded: artifact sha256:${pointer.reranker_sha256} is corrupt`;
  expect((failure as Error).message.startsWith(line)).toBe(true);
  expect((failure as Error).message).not.toContain('\n');
  expect(d.logs.some((l) => l.includes('trained'))).toBe(false);
  expect(rerankerFiles(d.home)).toEqual([]);
  const e = await machine('e');
  const refused = await loadServingSide(spec, e.serving).then(() => null, (err: unknown) => err);
  expect(refused).toBeInstanceOf(SideLoadError);
  expect((refused as Error).message).toBe(`cannot serve ${table}: ${(failure as Error).message}`);
}, 300_000);

test('a registered BEIR dataset gets a reranker fitted on its own train qrels; one without dev cases gets none, said once and in the status', async () => {
  const home = path.join(dir, 'registry');
  writeBeir(path.join(dir, 'syn-dev'), { seed: 17, splits: { train: [0, 16], dev: [16, 28], test: [28, 40] } });
  writeBeir(path.join(dir, 'syn-nodev'), { seed: 17, splits: { train: [0, 8], test: [8, 40] } });
  await addDataset(home, 'synrr', { kind: 'beir', dir: path.join(dir, 'syn-dev') });
  await addDataset(home, 'synnodev', { kind: 'beir', dir: path.join(dir, 'syn-nodev') });
  const w = await machine('reg', { home });

  const withDev = lockCorpusSnapshot(lockConfig({ ...defaultBaseline(identityOf(embedder), 'v512_synrr', 'team'), dataset: 'synrr' }), home);
  await w.plane.shadowIngest({ locked: withDev, table: withDev.shadow_table, dryRun: false }, { claimant: 'reranker-test' });
  const pointer = (await readPublishedIndexPointer(w.artifacts, withDev.shadow_table))!;
  expect(pointer.reranker_sha256).toMatch(/^[0-9a-f]{64}$/);
  const lift = JSON.parse((await w.artifacts.readBytes(pointer.reranker_lift_sha256!)).toString('utf8')) as RerankerLift;
  // Measured on the dataset's 12 dev queries; several relevant documents each, so positives exist.
  expect(lift.reranked.cases).toBe(12);
  expect(w.logs.filter((l) => l.startsWith(`reranker for ${withDev.shadow_table}: trained with the index build on 16 train cases of synrr`))).toHaveLength(1);
  const served = await loadServingSide({ table: withDev.shadow_table, index: null, configHash: withDev.config_hash }, (await machine('reg-replica')).serving);
  expect(served.rerankerStatus).toBe('ready');
  expect(served.rerankerSha256).toBe(pointer.reranker_sha256);

  const noDev = lockCorpusSnapshot(lockConfig({ ...defaultBaseline(identityOf(embedder), 'v512_synnodev', 'team'), dataset: 'synnodev' }), home);
  await w.plane.shadowIngest({ locked: noDev, table: noDev.shadow_table, dryRun: false }, { claimant: 'reranker-test' });
  const none = (await readPublishedIndexPointer(w.artifacts, noDev.shadow_table))!;
  const why = 'dataset synnodev has 8 train and 0 dev cases; a reranker needs both';
  expect(none.reranker_sha256).toBeUndefined();
  expect(none.reranker_absent).toBe(why);
  // An evaluation on it neither trains nor repeats the message.
  await w.plane.evaluate({ side: 'baseline', table: noDev.shadow_table, index: null, caseSetRef: 'synnodev:test', k: 10, maxCases: 3, runLabel: 'nodev' });
  expect(w.logs.filter((l) => l.startsWith(`reranker for ${noDev.shadow_table}`))).toEqual([`reranker for ${noDev.shadow_table}: none (${why}); fused order is served`]);
  const side = await loadServingSide({ table: noDev.shadow_table, index: null, configHash: noDev.config_hash }, (await machine('reg-replica-2')).serving);
  expect(side.reranker).toBeNull();
  expect(side.rerankerSha256).toBeNull();
  expect(side.rerankerStatus).toBe(`absent: ${why} (fused order is served)`);
}, 300_000);
