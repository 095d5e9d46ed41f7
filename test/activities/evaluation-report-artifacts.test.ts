// A scheduled evaluation's report across machines (issue 17 item 3): a "data" worker (its own state
// dir) evaluates and publishes an index build with its nprobe sweep; a "control" worker with an EMPTY
// state dir writes the report. Real PostgreSQL (the global test cluster), real artifact store, real
// judged scoring and manifest code (finishJudged). Not real: the retrieval (rankings are given per
// case — a retriever needs an ingested, embedded table, which is not what this tests) and the index
// build (its pointer and sweep are published the way buildTableIndexes publishes them, without FAISS).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePlatformSchema } from '../../src/activities';
import { createRecordEvaluationActivities } from '../../src/activities/record-evaluation';
import type { EvalReport } from '../../src/activities/types';
import type { LabelledCase } from '../../src/data/sources/cases';
import { openDb, type Db } from '../../src/platform/db';
import { finishJudged, type EvaluateJudgedOptions, type JudgedRun } from '../../src/rag/evaluate-judged';
import { scoreJudgedCase } from '../../src/rag/judged-scores';
import type { SweepResult } from '../../src/rag/nprobe-sweep';
import { indexRefName, type IndexPointer } from '../../src/rag/serving-index';
import { readCaseResults, readSweepBeside } from '../../src/report/report-inputs';
import { ArtifactStore } from '../../src/store/artifacts';
import { bakeoffInProcess } from '../support/cli';
import { freshPgDatabase } from '../support/serve-fixture';

const TABLE = 'chunks_eval_artifacts';
const roots: string[] = [];
const home = (tag: string): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `bakeoff-evalart-${tag}-`));
  roots.push(d);
  return d;
};

let db: Db;
let pgUrl: string;
beforeAll(async () => {
  pgUrl = await freshPgDatabase('eval_report_artifacts');
  db = await openDb({ url: pgUrl });
  await ensurePlatformSchema(db);
  // tableFingerprints reads these columns of the evaluated table.
  await db.exec(`CREATE TABLE ${TABLE} (chunk_id text PRIMARY KEY, ingest_run_id text, chunk_version int, config_hash text)`);
  await db.query(`INSERT INTO ${TABLE} SELECT 'c' || g, 'run-1', 1, 'cfg' FROM generate_series(1, 5) g`);
}, 60_000);
afterAll(async () => {
  await db?.close();
  for (const d of roots) fs.rmSync(d, { recursive: true, force: true });
});

// 12 cases; the relevant document is ranked first on even cases and absent on odd ones: 6 hits, 6 misses.
const CASES: LabelledCase[] = Array.from({ length: 12 }, (_, i) => ({
  case_id: `q${String(i).padStart(2, '0')}`, question: `question ${i}`, split: 'test', relevant: { [`d${i}`]: 1 }, at: `qrels.tsv:${i + 2}`,
}));

/** The data worker's evaluation: manifest and per-case scores under its manifestDir and in the store. */
async function evaluateOnDataWorker(dataHome: string, artifacts: ArtifactStore, runLabel: string): Promise<EvalReport> {
  const o: EvaluateJudgedOptions = {
    side: 'baseline', table: TABLE, db, retriever: null as never, encoder: null, cases: CASES, k: 10, runLabel, caseSet: 'mini:test',
    corpusSnapshot: 's'.repeat(64), manifestDir: path.join(dataHome, 'eval'), artifacts,
  };
  const run: JudgedRun = { scores: [], timings: [] };
  for (const [i, c] of CASES.entries()) {
    run.scores.push(scoreJudgedCase(c, i % 2 === 0 ? [`d${i}`, 'x1', 'x2'] : ['x1', 'x2', 'x3'], 10));
    run.timings.push({ encodeMs: 1, searchMs: 1, rerankMs: 1, totalMs: 3 + i } as never);
  }
  return finishJudged(o, run);
}

const SWEEP: SweepResult = {
  k: 10, queries: 40, ntotal: 5000, dim: 384, nlist: 64,
  targets: { minOverlap: 0.99, maxP95Ms: null, minSpeedup: null },
  flat: { p50Ms: 2, p95Ms: 3, meanMs: 2.1 },
  points: [1, 4, 16].map((nprobe) => ({ nprobe, overlapAtK: Math.min(1, 0.8 + nprobe / 80), p50Ms: 0.2 * nprobe, p95Ms: 0.3 * nprobe, meanMs: 0.2 * nprobe, speedupP50: 10 / nprobe, speedupP95: 10 / nprobe, meetsTargets: nprobe === 16 })),
  skipped: [],
  chosen: { nprobe: 16, overlapAtK: 1, p95Ms: 4.8, speedupP95: 0.6 },
  reason: 'nprobe 16 is the smallest with overlap@10 ≥ 0.99',
};

/** The data worker's index build: sweep.json beside the IVF dir, both published by hash under index:<table>. */
async function publishBuild(dataHome: string, artifacts: ArtifactStore): Promise<string> {
  const runDir = path.join(dataHome, 'indexes', TABLE, 'run-1');
  fs.mkdirSync(path.join(runDir, 'ivf'), { recursive: true });
  fs.writeFileSync(path.join(runDir, 'sweep.json'), JSON.stringify(SWEEP));
  const pointer: IndexPointer = {
    table: TABLE, ingest_run_id: 'run-1', config_hash: 'cfg', embedder: 'm', rows: 5, flat: path.join(runDir, 'flat'), ivf: path.join(runDir, 'ivf'),
    nlist: 64, nprobe: 16, overlap_at_10: 1, sweep_sha256: (await artifacts.putFile(path.join(runDir, 'sweep.json'), 'nprobe-sweep')).hash,
  };
  await artifacts.setRef(indexRefName(TABLE), (await artifacts.putBytes(JSON.stringify(pointer), 'index-pointer')).hash);
  return pointer.ivf;
}

const recordInput = (report: EvalReport, index: string, n: number) => ({
  idempotencyKey: `eval-art-${n}`, scheduleId: 'nightly', workflowId: `scheduled-eval-${n}`, kind: 'smoke' as const, lane: 'artifacts',
  pointerVersion: 3, configHash: 'cfg', caseSetRef: 'mini:test', startedAt: Date.parse('2026-12-01T00:00:00Z'), report, index,
});

test('the control worker with an empty state dir reports the per-case table and sweep the data worker produced', async () => {
  const dataHome = home('data');
  const dataStore = await ArtifactStore.open(db, { cacheDir: path.join(dataHome, 'artifacts') });
  const ivf = await publishBuild(dataHome, dataStore);
  const report = await evaluateOnDataWorker(dataHome, dataStore, 'scheduled-eval-1/baseline');
  expect(report.manifest_sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(report.manifest).toBe(path.join(dataHome, 'eval', 'scheduled-eval-1_baseline.manifest.json'));
  // The data machine's disk is not the control machine's: what the old code read is gone.
  fs.rmSync(dataHome, { recursive: true, force: true });
  expect(readCaseResults(report.manifest)).toBeNull();
  expect(readSweepBeside(ivf)).toBeNull();

  const controlHome = home('control');
  expect(fs.readdirSync(controlHome)).toEqual([]);
  const logs: string[] = [];
  const { recordEvaluation } = createRecordEvaluationActivities({
    db, reportsDir: path.join(controlHome, 'reports'), artifacts: new ArtifactStore(db, { cacheDir: path.join(controlHome, 'artifacts') }), log: (l) => logs.push(l),
  });
  const res = await recordEvaluation(recordInput(report, ivf, 1));
  expect(res.htmlReport).not.toBeNull();
  const html = fs.readFileSync(res.htmlReport!, 'utf8');
  expect(html).toContain('<h2 id="cases">Per-case results</h2>');
  expect(html).toContain('<p>12 cases, 6 hits, 6 misses.</p>');
  expect(html).toContain('<code>q01</code>'); // a miss row
  expect(html).toContain('<div class="charts" id="sweep-curve">');
  expect(html).toContain('nprobe 16 is the smallest with overlap@10 ≥ 0.99');
  expect(html).toContain(`sha256:${report.manifest_sha256}`);
  expect(html).not.toContain('unavailable:');
  expect(logs).toEqual([]);

  // The same page from the store on an operator's machine (a third home, nothing local).
  const operatorHome = home('operator');
  const out = path.join(operatorHome, 'eval.html');
  const cli = await bakeoffInProcess(['report', 'scheduled-eval-1', '--html', '--out', out], { BAKEOFF_HOME: operatorHome, DATABASE_URL: pgUrl, PATH: process.env.PATH });
  expect(cli.stderr).toBe('');
  expect(cli.stdout).toBe(out);
  expect(fs.readFileSync(out, 'utf8')).toBe(html);
});

test('a corrupt manifest artifact: the report says so in one line instead of an empty per-case section', async () => {
  const dataHome = home('data2');
  const dataStore = await ArtifactStore.open(db, { cacheDir: path.join(dataHome, 'artifacts') });
  const ivf = await publishBuild(dataHome, dataStore);
  const report = await evaluateOnDataWorker(dataHome, dataStore, 'scheduled-eval-2/baseline');
  const hash = report.manifest_sha256!;
  await db.query("UPDATE artifact_chunks SET bytes = convert_to('{\"per_case_sha256\": \"tampered\"}', 'UTF8') WHERE hash = $1 AND seq = 0", [hash]);

  const controlHome = home('control2');
  const logs: string[] = [];
  const { recordEvaluation } = createRecordEvaluationActivities({
    db, reportsDir: path.join(controlHome, 'reports'), artifacts: new ArtifactStore(db, { cacheDir: path.join(controlHome, 'artifacts') }), log: (l) => logs.push(l),
  });
  const res = await recordEvaluation(recordInput(report, ivf, 2));
  const html = fs.readFileSync(res.htmlReport!, 'utf8');
  expect(html).not.toContain('id="cases"');
  const row = html.match(/<tr><th>per-case results<\/th><td>([^<]*)<\/td><\/tr>/);
  expect(row).not.toBeNull();
  expect(row![1]).toMatch(new RegExp(`^unavailable: artifact sha256:${hash} is corrupt: eval-manifest: `));
  expect(logs).toHaveLength(1);
  expect(logs[0].split('\n')).toHaveLength(1);
  expect(logs[0]).toContain(`artifact sha256:${hash} is corrupt`);
  // The sweep is another artifact: it still shows.
  expect(html).toContain('<div class="charts" id="sweep-curve">');
});
