// Issue 17 "Done when": a compressed REAL bakeoff (Temporal dev server and PostgreSQL of the global
// setup, the real workflow bundle and activities, MiniLM tokenizer, FAISS, the FAQ subset) with one
// control worker and TWO data workers — separate processes, each with its own state dir / BAKEOFF_HOME
// and its own copy of the embedding memo, pinned to one core each — and two serving replicas with their
// own state dirs (in this process; their indexes come by hash from the artifact store). The ingest is
// sharded (ingestParallelism 2). Data worker A SIGKILLs itself after its shard's second committed
// batch; the shard is retried (A restarted, or B) and the candidate table must equal a clean run's,
// row by row (md5 of span, texts and vector): nothing lost, nothing duplicated, nothing changed.
// The reranker is trained once, by the index build, and named by sha256 in the published pointer: both
// replicas report that hash in /health, no data worker trains another, and a data plane with an empty
// state dir (in this process: the same DataPlane a worker runs) evaluates with it without training.
// What is not real: chunk vectors come from the memo of the real model's own output
// (test/support/rag-fixture.ts), and live KPIs from the chaos traffic player (test/chaos/traffic.ts).
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataPlane } from '../../src/activities/data-plane';
import { startBakeoff } from '../../src/client/bakeoff';
import { cacheDir } from '../../src/platform/paths';
import { readPublishedIndexPointer } from '../../src/rag/serving-index';
import { startServing, type RunningService } from '../../src/serve/app';
import { ArtifactStore } from '../../src/store/artifacts';
import { readPointer } from '../../src/store/pointer';
import type { bakeoff } from '../../src/workflows/bakeoff';
import { approveSignal, statusQuery } from '../../src/workflows/messages';
import { isTerminal } from '../../src/workflows/types';
import { chaosInput } from '../chaos/chaos-input';
import { TrafficPlayer } from '../chaos/traffic';
import { compareChunks, createWorld, fingerprintTable, lock, type World } from '../chaos/world';
import { WorkerProcess } from '../support/worker-process';

jest.setTimeout(6 * 60_000);

const TEMPORAL = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS!;
const PG = process.env.BAKEOFF_TEST_PG_URL!;
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CHUNK_VERSION = 'v450_scale';

/** Lines of a worker's log that say an activity of this name started (worker-main's fault wrapper prints them). */
function started(logFile: string, activity: string): string[] {
  return fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => new RegExp(`activity ${activity} #\\d+ \\(attempt \\d+\\) started`).test(l));
}

/** Shards a worker's log says it finished ("ingestShard <table> shard i/n on host:pid: ..."). */
function finishedShards(logFile: string): string[] {
  return fs.readFileSync(logFile, 'utf8').split('\n').flatMap((l) => /ingestShard \S+ shard (\d+\/\d+) on /.exec(l)?.[1] ?? []);
}

describe('issue 17: one control worker, two data workers, two serving replicas', () => {
  let world: World;
  let connection: Connection;
  let client: Client;
  const processes: WorkerProcess[] = [];
  const replicas: RunningService[] = [];
  let traffic: TrafficPlayer | null = null;

  beforeAll(async () => {
    [world, connection] = await Promise.all([createWorld({ serverUrl: PG, name: 'scale' }), Connection.connect({ address: TEMPORAL })]);
    client = new Client({ connection });
  });

  afterAll(async () => {
    traffic?.stop();
    for (const r of replicas) await r.close().catch(() => undefined);
    await Promise.all(processes.map((p) => p.kill()));
    await connection?.close();
    await world?.close();
  });

  test('sharded ingest lands on both data workers, survives a SIGKILL mid-shard, and both replicas serve the candidate', async () => {
    const lane = 'scalelane';
    await world.lane(lane);
    // The clean run first: it also fills the embedding memo each worker then gets its own copy of.
    const clean = await world.cleanRun(lock(world, CHUNK_VERSION));
    const memo = process.env.BAKEOFF_TEST_EMBED_CACHE ?? path.join(cacheDir, 'test-embeddings');
    const taskQueue = `scale-${Date.now()}`;
    const home = (name: string) => {
      const dir = path.join(world.stateDir, '..', name);
      fs.mkdirSync(path.join(dir, 'embed-memo'), { recursive: true });
      for (const f of fs.readdirSync(memo)) fs.copyFileSync(path.join(memo, f), path.join(dir, 'embed-memo', f));
      return dir;
    };
    const worker = (name: string, o: { role: 'control' | 'data'; cpu?: number; crashAfterIngestBatches?: number }) => {
      const dir = home(name);
      return WorkerProcess.start({
        temporalAddress: TEMPORAL,
        taskQueue,
        databaseUrl: world.databaseUrl,
        stateDir: dir,
        subsetCases: 6,
        bundlePath: world.bundlePath,
        // One data slot each: the two shards, started together, must go to different data workers.
        maxActivities: 1,
        ingestBatch: 8,
        cpu: o.cpu,
        faults: o.crashAfterIngestBatches ? { crashAfterIngestBatches: o.crashAfterIngestBatches } : {},
        env: { WORKER_ROLE: o.role, BAKEOFF_HOME: dir, BAKEOFF_TEST_EMBED_CACHE: path.join(dir, 'embed-memo') },
        logFile: path.join(world.logDir, `${name}.log`),
      });
    };
    const [control, dataA, dataB] = await Promise.all([
      worker('control', { role: 'control' }),
      worker('data-a', { role: 'data', cpu: 0, crashAfterIngestBatches: 2 }),
      worker('data-b', { role: 'data', cpu: 1 }),
    ]);
    processes.push(control, dataA, dataB);

    for (const name of ['replica-1', 'replica-2']) {
      const dir = path.join(world.stateDir, '..', name);
      const artifacts = await ArtifactStore.open(world.db, { cacheDir: path.join(dir, 'artifacts') });
      replicas.push(
        await startServing({ db: world.db, lane, tau: 0.5, indexDir: path.join(dir, 'indexes'), artifacts, loadEmbedder: async () => world.embedder, defaultMetrics: false, pollMs: 100, kpiWindowMs: 3_600_000, http: { port: 0 } }),
      );
    }
    traffic = new TrafficPlayer(world.db, lane).start();

    const input = { ...chaosInput(world, { lane, chunkVersion: CHUNK_VERSION, ramp: [{ percent: 50, soak: '6s' }] }), ingestParallelism: 2 };
    const t0 = Date.now();
    const handle: WorkflowHandle<typeof bakeoff> = await startBakeoff(client, input, { taskQueue, workflowId: `scale-${Date.now()}` });

    // Data worker A kills itself mid-shard; a fresh A (no faults, same state dir) joins B.
    await dataA.exited;
    const killLine = dataA.output.find((l) => l.includes('CHAOS: SIGKILL')) ?? '';
    log(`[scale] ${killLine}`);
    const dataA2 = await worker('data-a', { role: 'data', cpu: 0 });
    processes.push(dataA2);

    // Approve what a 56-document corpus leaves inconclusive; at the split, ask each replica until the candidate answers.
    const served: Record<string, { table: string; configHash: string | null } | null> = { 'replica-1': null, 'replica-2': null };
    /** Each replica's /health rerank status and model sha256 of the candidate, once it served it. */
    const rerankStatus: Record<string, { status: string; sha256: string | null } | null> = { 'replica-1': null, 'replica-2': null };
    let approvals = 0;
    const approvedSince = new Set<number>();
    for (;;) {
      const s = await handle.query(statusQuery);
      if (isTerminal(s.phase)) break;
      if (s.phase === 'awaiting-operator' && s.awaiting && !approvedSince.has(s.awaiting.since)) {
        approvedSince.add(s.awaiting.since);
        approvals += 1;
        await handle.signal(approveSignal, { by: 'scale-test', reason: 'tiny corpus' });
      }
      const pointer = await readPointer(world.db, lane);
      if (pointer?.canaryPercent === 50 && pointer.candidateTable) {
        for (const [i, r] of replicas.entries()) {
          const name = `replica-${i + 1}`;
          for (let k = 0; k < 20 && !served[name]; k++) {
            const res = await fetch(`${r.url}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'how do I open a file', key: `user-${k}` }) });
            const body = (await res.json()) as { side?: string; table?: string; configHash?: string | null };
            if (res.ok && body.side === 'candidate' && body.table === pointer.candidateTable) served[name] = { table: body.table, configHash: body.configHash ?? null };
          }
          if (served[name] && !rerankStatus[name]) {
            const health = (await (await fetch(`${r.url}/health`)).json()) as { rerank?: { candidate?: { status: string; sha256: string | null } | null } | null };
            const c = health.rerank?.candidate;
            rerankStatus[name] = c ? { status: c.status, sha256: c.sha256 } : null;
          }
        }
      }
      await sleep(300);
    }
    const result = await handle.result();
    const ms = Date.now() - t0;
    const table = result.status.ingest!.table;
    const actual = await fingerprintTable(world.db, table);
    const diff = compareChunks(clean, actual);
    const logs = { a: dataA.opts.logFile, b: dataB.opts.logFile };
    const shardStarts = { a: started(logs.a, 'ingestShard').length, b: started(logs.b, 'ingestShard').length };
    const shardsDone = [...finishedShards(logs.a), ...finishedShards(logs.b)];
    const builds = started(logs.a, 'buildIndexes').length + started(logs.b, 'buildIndexes').length;
    const cached = replicas.map((_, i) => fs.readdirSync(path.join(world.stateDir, '..', `replica-${i + 1}`, 'artifacts', 'dirs')).length);
    log(
      `[scale] ${result.outcome} in ${(ms / 1000).toFixed(1)} s (${approvals} approvals); shard attempts A ${shardStarts.a} / B ${shardStarts.b}, shards done ${shardsDone.sort().join(', ')}, ` +
        `${builds} index build(s); table ${actual.rows} rows vs clean ${clean.rows}: lost ${diff.lost}, duplicated ${diff.duplicated}, changed ${diff.changed}; replicas served ${JSON.stringify(served)}, fetched ${cached.join(' / ')} index dirs by hash`,
    );

    // Every step succeeded: the bakeoff promoted the candidate (the killed shard attempt was retried).
    expect(result.status.phase).toBe('done');
    expect(result.outcome).toBe('promoted');
    expect(killLine).toMatch(/mid-ingest after 2 batches/);
    // Shards landed on both data workers (A's first attempt was killed mid-shard; the retry may go to either).
    expect(shardStarts.a).toBeGreaterThanOrEqual(1);
    expect(shardStarts.b).toBeGreaterThanOrEqual(1);
    expect(shardStarts.a + shardStarts.b).toBeGreaterThanOrEqual(3);
    expect([...new Set(shardsDone)].sort()).toEqual(['0/2', '1/2']);
    expect(builds).toBe(1);
    // Nothing lost, duplicated or changed against the clean (unsharded, unkilled) run.
    expect(actual.rows).toBeGreaterThan(0);
    expect(diff).toEqual({ lost: 0, duplicated: 0, changed: 0 });
    expect(actual.rows).toBe(clean.rows);
    // Both replicas served the candidate after the split, from indexes fetched by hash into their own state dirs.
    expect(served['replica-1']?.table).toBe(table);
    expect(served['replica-2']?.table).toBe(table);
    for (const n of cached) expect(n).toBeGreaterThanOrEqual(1);

    // The reranker: trained once, by the build, and named by hash; both replicas serve exactly it.
    const published = await readPublishedIndexPointer(await ArtifactStore.open(world.db, { cacheDir: path.join(world.stateDir, '..', 'probe', 'artifacts') }), table);
    const hash = published?.reranker_sha256 ?? '';
    const dataLines = [logs.a, logs.b].flatMap((f) => fs.readFileSync(f, 'utf8').split('\n'));
    const trainings = dataLines.filter((l) => l.includes(`reranker for ${table}: trained`));
    log(`[scale] reranker sha256:${hash.slice(0, 12)}; replicas report ${JSON.stringify(rerankStatus)}; trainings on the data workers: ${trainings.length}`);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(trainings).toHaveLength(1);
    expect(trainings[0]).toContain('trained with the index build');
    for (const status of Object.values(rerankStatus)) expect(status).toEqual({ status: 'ready', sha256: hash });
    // A data worker with an empty state dir evaluates with the published reranker, training nothing.
    const emptyHome = path.join(world.stateDir, '..', 'data-empty');
    const emptyLog: string[] = [];
    const empty = new DataPlane({
      db: world.db, dataset: world.dataset, loadEmbedder: async () => world.embedder, indexDir: path.join(emptyHome, 'indexes'), manifestDir: path.join(emptyHome, 'eval'),
      artifacts: await ArtifactStore.open(world.db, { cacheDir: path.join(emptyHome, 'artifacts') }), rerankAudit: false, log: (l) => emptyLog.push(l),
    });
    const evaluated = await empty.evaluate({ side: 'candidate', table, index: null, caseSetRef: 'faq:all', k: 10, maxCases: 3, runLabel: 'empty-state-dir' });
    await empty.close();
    expect(evaluated.cases).toBe(3);
    expect(emptyLog).toContain(`reranker for ${table}: sha256:${hash.slice(0, 12)} published with the index build, loaded by hash`);
    expect(emptyLog.filter((l) => l.includes('trained'))).toEqual([]);
  });
});
