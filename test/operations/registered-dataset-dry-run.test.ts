/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Issue 16 item 4: a real dry-run bakeoff on a registered, non-FAQ dataset. The test writes a seeded
// synthetic BEIR directory (60 documents, 40 queries with three relevant documents each, graded
// 2/1/1, no gold answers), registers it with the CLI as a process, ingests a baseline of it with the
// real data plane (real MiniLM, real FAISS, the suite's real PostgreSQL), and runs `bakeoff dry-run
// --eval-cases syn:test --shadow off` as a process against the real Temporal dev server and a worker
// running the real workflow bundle with that data plane. The report's metrics must come from the
// dataset: its 32 test cases, graded nDCG, and reader F1 / precision not applicable (no gold answers).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import YAML from 'yaml';
import { createActivities, ensurePlatformSchema } from '../../src/activities';
import { createDataPlaneActivities, DataPlane } from '../../src/activities/data-plane';
import { createLockConfigActivities } from '../../src/activities/lock-config';
import { lockCorpusSnapshot } from '../../src/data/locked-corpus';
import { openDb, type Db } from '../../src/platform/db';
import { defaultBaseline, defaultCandidate, lockConfig } from '../../src/rag/config';
import { initLane } from '../../src/store/pointer';
import { createBakeoffWorker, type BakeoffWorkers } from '../../src/worker';
import { writeBeir } from '../support/beir-fixture';
import { bakeoffProcess } from '../support/cli';
import { identityOf, MemoEmbedder, realEmbedder } from '../support/rag-fixture';
import { freshPgDatabase } from '../support/serve-fixture';
import { workflowBundle } from '../workflows/harness';

const TEMPORAL_ADDRESS = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS!;
let db: Db;
let dir: string;
let home: string;
let env: NodeJS.ProcessEnv;
let embedder: MemoEmbedder;
let plane: DataPlane;
let nativeConnection: NativeConnection;
let running: { worker: BakeoffWorkers; done: Promise<void> } | null = null;
const taskQueue = `syn-dry-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  const url = await freshPgDatabase('syn_dry_run');
  db = await openDb({ url, poolSize: 4 });
  await ensurePlatformSchema(db);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-syn-'));
  home = path.join(dir, 'home');
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    USER: 'syn-test',
    TEMPORAL_ADDRESS,
    BAKEOFF_TASK_QUEUE: taskQueue,
    DATABASE_URL: url,
    BAKEOFF_HOME: home,
    ...(process.env.BAKEOFF_CACHE ? { BAKEOFF_CACHE: process.env.BAKEOFF_CACHE } : {}),
    ...(process.env.BAKEOFF_MODEL_DIR ? { BAKEOFF_MODEL_DIR: process.env.BAKEOFF_MODEL_DIR } : {}),
  };
  embedder = new MemoEmbedder(await realEmbedder());
  plane = new DataPlane({ db, home, indexDir: path.join(home, 'indexes'), manifestDir: path.join(home, 'eval'), loadEmbedder: async () => embedder, log: () => undefined });
}, 120_000);

afterAll(async () => {
  if (running) {
    running.worker.shutdown();
    await running.done;
  }
  await nativeConnection?.close();
  await db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('register a synthetic BEIR dataset, ingest a baseline of it, dry-run a candidate on syn:test: graded nDCG from the dataset, F1 n/a', async () => {
  const root = path.join(dir, 'syn');
  writeBeir(root, { seed: 16, splits: { train: [0, 8], test: [8, 40] } });
  const add = await bakeoffProcess(['dataset', 'add', 'syn', '--beir', root], env, 60_000);
  expect(add.stderr).not.toMatch(/^\s+at /m);
  expect(add.code).toBe(0);
  expect(add.stdout).toContain('cases: 40 (test 32, train 8); default case set syn:test');
  const snapshot = /snapshot sha256 ([0-9a-f]{64})/.exec(add.stdout)![1];

  // The lane's baseline: the registered corpus, ingested by the real data plane.
  const baseline = lockCorpusSnapshot(lockConfig({ ...defaultBaseline(identityOf(embedder), 'v512_syn', 'team'), dataset: 'syn' }), home);
  expect(baseline.corpus_snapshot).toBe(snapshot);
  const ingested = await plane.shadowIngest({ locked: baseline, table: baseline.shadow_table, dryRun: false }, { claimant: 'syn-test' });
  expect(ingested.documents).toBe(60);
  await initLane(db, { lane: 'syn', liveTable: baseline.shadow_table, liveIndex: ingested.index?.ivf ?? null, liveConfigHash: baseline.config_hash, by: 'syn-test' });

  // A locked snapshot that is not the registered one is refused before anything is written.
  const stale = { ...baseline, corpus_snapshot: 'f'.repeat(64) };
  await expect(plane.shadowIngest({ locked: stale, table: 'document_chunks_syn_stale', dryRun: true })).rejects.toThrow(
    `dataset syn changed since the bakeoff locked it: registered snapshot ${snapshot.slice(0, 16)}…, locked ${'f'.repeat(16)}…`,
  );

  nativeConnection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
  const worker = await createBakeoffWorker({
    connection: nativeConnection,
    taskQueue,
    extra: { workflowBundle: await workflowBundle() },
    activities: createActivities({ db, dataPlane: { ...createDataPlaneActivities(plane), lockConfig: createLockConfigActivities(home).lockConfig }, log: () => undefined }),
  });
  running = { worker, done: worker.run() };

  // The candidate config names no dataset: --eval-cases syn:test names its corpus.
  const input = path.join(dir, 'candidate.yaml');
  fs.writeFileSync(input, YAML.stringify({ candidate: defaultCandidate(identityOf(embedder), 'v450_syn', 'team'), baseline: { lane: 'syn' }, dryRunSoak: '2s' }));
  const r = await bakeoffProcess(['dry-run', '--config', input, '--eval-cases', 'syn:test', '--shadow', 'off'], env, 150_000);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect([0, 1, 2]).toContain(r.code);
  expect(r.stdout).toMatch(/^f1\s+offline\s.*\sN\/A\s+n\/a: the case set has no gold answers for f1 \(only 0 of 32 cases have a gold answer\)/m);
  const report = JSON.parse(fs.readFileSync(/^report: (.+)$/m.exec(r.stdout)![1], 'utf8'));
  const { candidate, baseline: base } = report.status.evaluation;
  for (const side of [candidate, base]) {
    expect(side.cases).toBe(32);
    expect(side.caseSupport).toEqual({ caseSet: 'syn:test', graded: true, unsupported: [expect.objectContaining({ metric: 'f1' }), expect.objectContaining({ metric: 'precision' })] });
    expect(side.metrics.ndcg).toBeGreaterThan(0);
    expect(side.metrics.ndcg).toBeLessThanOrEqual(1);
    const manifest = JSON.parse(fs.readFileSync(side.manifest, 'utf8'));
    expect(manifest).toMatchObject({ format: 'bakeoff-eval-judged/1', case_set: 'syn:test', corpus_snapshot: snapshot, graded: true });
  }
  expect(base.table).toBe(baseline.shadow_table);
  const gates: { name: string; verdict: string; applicable?: boolean }[] = report.gates;
  expect(gates.filter((g) => g.applicable === false).map((g) => g.name)).toEqual(['f1', 'precision']);
  // The verdict comes from the gates that apply: n/a gates neither pass nor fail it.
  const applicable = gates.filter((g) => g.applicable !== false).map((g) => g.verdict);
  const expected = applicable.includes('fail') ? 'fail' : applicable.includes('inconclusive') ? 'inconclusive' : 'pass';
  expect(report.verdict).toBe(expected);
}, 300_000);
