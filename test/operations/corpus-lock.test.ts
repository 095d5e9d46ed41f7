/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Issue 16 item 1: a bakeoff locks the corpus it judges. Two real dry runs through the CLI as a process,
// against the suite's real Temporal dev server and real PostgreSQL, with the real data plane (real
// MiniLM, real FAISS) on a slice of the bundled FAQ:
// (a) the status and the JSON report name the FAQ snapshot's sha256, equal to the formula of
//     src/rag/corpus-fingerprint.ts computed here independently from the documents;
// (b) the FAQ changes between the lock and the ingest (the lock ran on a data worker that loaded the
//     old build, the ingest on one that loaded a rebuilt FAQ with one document edited): the bakeoff
//     fails with CorpusChanged in one line and writes nothing.
// Without the corpus lock, (b) would ingest the edited FAQ and pass (the FAQ was never locked).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import YAML from 'yaml';
import { createActivities, ensurePlatformSchema } from '../../src/activities';
import { DataPlane } from '../../src/activities/data-plane';
import { lockCorpus } from '../../src/activities/lock-corpus';
import type { Dataset } from '../../src/data/dataset';
import { openDb, type Db } from '../../src/platform/db';
import { defaultBaseline, defaultCandidate, lockConfig } from '../../src/rag/config';
import { getIngestRun } from '../../src/rag/ingest-runs';
import { initLane } from '../../src/store/pointer';
import { statusQuery } from '../../src/workflows/messages';
import { createBakeoffWorker, type BakeoffWorkers } from '../../src/worker';
import { bakeoffProcess } from '../support/cli';
import { faqSubset, identityOf, MemoEmbedder, realEmbedder } from '../support/rag-fixture';
import { freshPgDatabase } from '../support/serve-fixture';
import { workflowBundle } from '../workflows/harness';

const TEMPORAL_ADDRESS = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS!;
const LANE = 'faqlock';
const taskQueue = `corpus-lock-${randomBytes(3).toString('hex')}`;
let db: Db;
let dir: string;
let env: NodeJS.ProcessEnv;
let embedder: MemoEmbedder;
let faq: Dataset;
/** The data worker that loaded the FAQ the bakeoffs lock (lockCorpus always runs on it). */
let lockPlane: DataPlane;
/** The data worker the other data steps run on: lockPlane, or one that loaded a rebuilt FAQ. */
let stepPlane: DataPlane;
let nativeConnection: NativeConnection;
let connection: Connection;
let running: { worker: BakeoffWorkers; done: Promise<void> } | null = null;
const planes: DataPlane[] = [];

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The snapshot formula, restated from its comment: sha256 over sorted `id \t sha256(title \0 text) \n` lines. */
function independentSnapshot(docs: readonly { doc_id: string; title: string; text: string }[]): string {
  return sha256(docs.map((d) => `${d.doc_id}\t${sha256(`${d.title}\0${d.text}`)}\n`).sort().join(''));
}

function plane(dataset: Dataset, name: string): DataPlane {
  const home = path.join(dir, name);
  const p = new DataPlane({ db, dataset, home, indexDir: path.join(home, 'indexes'), manifestDir: path.join(home, 'eval'), loadEmbedder: async () => embedder, log: () => undefined });
  planes.push(p);
  return p;
}

async function dryRun(chunkVersion: string): Promise<{ workflowId: string; stdout: string; stderr: string; code: number | null }> {
  const input = path.join(dir, `${chunkVersion}.yaml`);
  fs.writeFileSync(input, YAML.stringify({ candidate: defaultCandidate(identityOf(embedder), chunkVersion, 'team'), baseline: { lane: LANE }, dryRunSoak: '2s' }));
  const workflowId = `${taskQueue}-${chunkVersion}`;
  const r = await bakeoffProcess(['dry-run', '--config', input, '--shadow', 'off', '--workflow-id', workflowId], env, 240_000);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return { workflowId, ...r };
}

beforeAll(async () => {
  const url = await freshPgDatabase('corpus_lock');
  db = await openDb({ url, poolSize: 4 });
  await ensurePlatformSchema(db);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-corpus-lock-'));
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    USER: 'corpus-lock-test',
    TEMPORAL_ADDRESS,
    BAKEOFF_TASK_QUEUE: taskQueue,
    DATABASE_URL: url,
    BAKEOFF_HOME: path.join(dir, 'cli-home'),
    ...(process.env.BAKEOFF_CACHE ? { BAKEOFF_CACHE: process.env.BAKEOFF_CACHE } : {}),
    ...(process.env.BAKEOFF_MODEL_DIR ? { BAKEOFF_MODEL_DIR: process.env.BAKEOFF_MODEL_DIR } : {}),
  };
  embedder = new MemoEmbedder(await realEmbedder());
  faq = await faqSubset(12);
  lockPlane = plane(faq, 'worker-a');
  stepPlane = lockPlane;

  // The lane's baseline: the same FAQ slice, ingested by the real data plane.
  const baseline = lockConfig(defaultBaseline(identityOf(embedder), 'v512_faqlock', 'team'));
  const ingested = await lockPlane.shadowIngest({ locked: baseline, table: baseline.shadow_table, dryRun: false }, { claimant: 'corpus-lock-test' });
  await initLane(db, { lane: LANE, liveTable: baseline.shadow_table, liveIndex: ingested.index?.ivf ?? null, liveConfigHash: baseline.config_hash, by: 'corpus-lock-test' });

  nativeConnection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
  connection = await Connection.connect({ address: TEMPORAL_ADDRESS });
  const worker = await createBakeoffWorker({
    connection: nativeConnection,
    taskQueue,
    extra: { workflowBundle: await workflowBundle() },
    activities: createActivities({
      db,
      log: () => undefined,
      dataPlane: {
        lockCorpus: (i) => lockCorpus(lockPlane, i),
        shadowIngest: (i) => stepPlane.shadowIngest(i),
        evaluate: (i) => stepPlane.evaluate(i),
        evaluatePair: (i) => stepPlane.evaluatePair(i),
        runProbes: (i) => stepPlane.runProbes(i),
      },
    }),
  });
  running = { worker, done: worker.run() };
}, 240_000);

afterAll(async () => {
  if (running) {
    running.worker.shutdown();
    await running.done;
  }
  for (const p of planes) await p.close();
  await nativeConnection?.close();
  await connection?.close();
  await db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('a dry run on the bundled FAQ names the corpus it judged: status, JSON report and ingest report carry its snapshot sha256', async () => {
  const expected = independentSnapshot(faq.docs);
  const r = await dryRun('v450_faqlock_a');
  expect([0, 1, 2]).toContain(r.code);
  const report = JSON.parse(fs.readFileSync(/^report: (.+)$/m.exec(r.stdout)![1], 'utf8'));
  expect(report.status.corpus).toEqual({ dataset: 'faq', snapshot: expected, documents: faq.docs.length });
  // The ingest read that very corpus (its own fingerprint pass), and the locked snapshot was demanded of it.
  expect(report.status.ingest.corpusSnapshot).toBe(expected);
  expect(report.status.ingest.documents).toBe(faq.docs.length);

  const status = await bakeoffProcess(['status', r.workflowId], env, 60_000);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(new RegExp(`^\\s*Corpus\\s+faq · ${faq.docs.length} documents · snapshot sha256 ${expected}$`, 'm'));
}, 300_000);

test('the FAQ rebuilt between lock and ingest: the dry run fails with CorpusChanged in one line and writes nothing', async () => {
  const gold = new Set(faq.cases.map((c) => c.gold_doc_id));
  const edited = faq.docs.findIndex((d) => !gold.has(d.doc_id));
  expect(edited).toBeGreaterThanOrEqual(0);
  const rebuilt: Dataset = { ...faq, docs: faq.docs.map((d, i) => (i === edited ? { ...d, text: `${d.text} Edited after the lock.` } : d)) };
  expect(independentSnapshot(rebuilt.docs)).not.toBe(independentSnapshot(faq.docs));
  stepPlane = plane(rebuilt, 'worker-b');
  try {
    const r = await dryRun('v450_faqlock_b');
    expect(r.code).not.toBe(0);
    const handle = new Client({ connection }).workflow.getHandle(r.workflowId);
    const status = await handle.query(statusQuery);
    expect(status.corpus?.snapshot).toBe(independentSnapshot(faq.docs));
    expect(status.phase).toBe('failed');
    expect(status.failure).toBe(
      `ingesting: bundled FAQ corpus: the corpus read now (snapshot ${independentSnapshot(rebuilt.docs).slice(0, 16)}…, ${faq.docs.length} documents) is not the one expected (${independentSnapshot(faq.docs).slice(0, 16)}…): nothing was written`,
    );
    // One attempt, failed as CorpusChanged (non-retryable: the same corpus would be refused again).
    const failures = (await handle.fetchHistory()).events!.flatMap((e) => (e.activityTaskFailedEventAttributes ? [e.activityTaskFailedEventAttributes.failure?.applicationFailureInfo?.type] : []));
    expect(failures).toEqual(['CorpusChanged']);
    expect(status.ingest).toBeNull();
    // Nothing written: no scratch table, no ingest run.
    const table = status.shadowTable!;
    expect(table).toMatch(/^scratch_v450_faqlock_b_/);
    expect((await db.query<{ t: string | null }>(`SELECT to_regclass($1) AS t`, [table])).rows[0].t).toBeNull();
    expect(await getIngestRun(db, `${status.ingestRunId}@${table}`)).toBeNull();
  } finally {
    stepPlane = lockPlane;
  }
}, 300_000);
