// The bakeoff's platform activities on both engines (PGlite in-process, the real PostgreSQL cluster
// of the global setup): the active pointer's one-statement changes and their history, exactly-once
// effects through the audit table, backup and restore, the live-KPI reader, promotion, reports,
// notifications to a real local webhook, and input validation.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, createPlatformActivities, ensurePlatformSchema } from '../../src/activities';
import { applyOnce, countAudit } from '../../src/store/audit';
import { listBackups, restoreBackup } from '../../src/store/backups';
import { readLiveKpis, recordLiveKpiWindow } from '../../src/store/live-kpis';
import { initLane, pointerHistory, readPointer, setSplit } from '../../src/store/pointer';
import { readReport } from '../../src/store/reports';
import type { LockedConfig, PlatformActivities } from '../../src/activities/types';
import type { Db } from '../../src/platform/db';
import { LiveThresholdsSchema } from '../../src/workflows/messages';
import { createChunkTable, createFixtureDataPlane, HEALTHY } from '../fixtures/data-plane';
import { engines } from '../rag/db-engines';

const BY = 'test';
const key = (s: string) => `wf-test/run-1/${s}`;

describe.each(engines())('platform activities on $name', (engine) => {
  let db: Db;
  let close: () => Promise<void>;
  let acts: PlatformActivities;
  const logs: string[] = [];
  const reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-reports-'));

  beforeAll(async () => {
    ({ db, close } = await engine.open());
    await ensurePlatformSchema(db);
    await ensurePlatformSchema(db); // idempotent
    await createChunkTable(db, 'live_a', 25, 'a');
    await createChunkTable(db, 'cand_b', 30, 'b');
    acts = createPlatformActivities({ db, reportsDir, log: (l) => logs.push(l) });
  });
  afterAll(async () => {
    await close?.();
    fs.rmSync(reportsDir, { recursive: true, force: true });
  });

  test('a lane is created once; readPointer of an unknown lane is a non-retryable LaneNotFound', async () => {
    const p = await initLane(db, { lane: 'l1', liveTable: 'live_a', liveConfigHash: 'a'.repeat(64), by: BY });
    expect(p).toMatchObject({ lane: 'l1', liveTable: 'live_a', candidateTable: null, canaryPercent: 0, version: 1, cacheEpoch: 0 });
    expect(await initLane(db, { lane: 'l1', liveTable: 'cand_b', by: 'someone-else' })).toEqual(p);
    const err = await acts.readPointer({ lane: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'LaneNotFound', nonRetryable: true });
  });

  test('a split is one versioned change with history; the same split again changes nothing', async () => {
    const split = { lane: 'l1', candidateTable: 'cand_b', candidateIndex: null, candidateConfigHash: 'b'.repeat(64), percent: 10, by: BY, reason: 'stage 1' };
    const p1 = await acts.setTrafficSplit({ ...split, idempotencyKey: key('split-0') });
    expect(p1).toMatchObject({ candidateTable: 'cand_b', canaryPercent: 10, version: 2, reason: 'stage 1' });
    // Retried with the same key: the audit replays the first result.
    expect(await acts.setTrafficSplit({ ...split, idempotencyKey: key('split-0') })).toEqual(p1);
    // Same state under a new key: no version bump either (the statement's WHERE filters it out).
    expect((await acts.setTrafficSplit({ ...split, idempotencyKey: key('split-0-again') })).version).toBe(2);
    await acts.setTrafficSplit({ ...split, percent: 50, idempotencyKey: key('split-1') });
    const hist = await pointerHistory(db, 'l1');
    expect(hist.map((h) => [h.version, h.action, h.canaryPercent])).toEqual([[1, 'init', 0], [2, 'split', 10], [3, 'split', 50]]);
    expect(await countAudit(db, { workflowId: 'wf-test', activity: 'setTrafficSplit' })).toBe(3);
  });

  test('a second candidate on a busy lane is refused (two bakeoffs at once)', async () => {
    const err = await acts
      .setTrafficSplit({ lane: 'l1', candidateTable: 'live_a', candidateIndex: null, candidateConfigHash: 'c'.repeat(64), percent: 5, by: BY, reason: 'x', idempotencyKey: key('other') })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'PointerConflict', nonRetryable: true });
    expect((err as Error).message).toMatch(/already canaries cand_b/);
  });

  test('rollback: the baseline is live again in one statement, caches move to a new epoch, once per key', async () => {
    const baseline = { table: 'live_a', index: null, configHash: 'a'.repeat(64) };
    const r1 = await acts.restoreBaseline({ lane: 'l1', baseline, by: 'oncall', reason: 'pager', idempotencyKey: key('rollback-restore') });
    expect(r1).toMatchObject({ liveTable: 'live_a', candidateTable: null, canaryPercent: 0, updatedBy: 'oncall', reason: 'pager', version: 4 });
    expect(await acts.restoreBaseline({ lane: 'l1', baseline, by: 'oncall-2', reason: 'again', idempotencyKey: key('rollback-restore') })).toEqual(r1);
    const c1 = await acts.clearCaches({ lane: 'l1', by: 'oncall', reason: 'pager', idempotencyKey: key('rollback-caches') });
    const c2 = await acts.clearCaches({ lane: 'l1', by: 'oncall', reason: 'pager', idempotencyKey: key('rollback-caches') });
    expect(c1).toEqual({ cacheEpoch: 1 });
    expect(c2).toEqual(c1);
    expect((await pointerHistory(db, 'l1')).map((h) => h.action)).toEqual(['init', 'split', 'split', 'restore', 'cache-clear']);
  });

  test('readers never see a half-flipped pointer while it flips back and forth', async () => {
    await initLane(db, { lane: 'flip', liveTable: 'live_a', by: BY });
    let stop = false;
    let reads = 0;
    const violations: string[] = [];
    const reader = (async () => {
      let lastVersion = 0;
      while (!stop) {
        const p = (await readPointer(db, 'flip'))!;
        reads += 1;
        // A consistent row: a candidate iff a non-zero split, and versions only move forward.
        if ((p.candidateTable === null) !== (p.canaryPercent === 0)) violations.push(JSON.stringify(p));
        if (p.version < lastVersion) violations.push(`version went back ${lastVersion} → ${p.version}`);
        lastVersion = p.version;
      }
    })();
    for (let i = 0; i < 60; i++) {
      await setSplit(db, { lane: 'flip', candidateTable: 'cand_b', candidateIndex: null, candidateConfigHash: 'b'.repeat(64), percent: 1 + (i % 100), by: BY, reason: 'flip' });
      await acts.restoreBaseline({ lane: 'flip', baseline: { table: 'live_a', index: null, configHash: null }, by: BY, reason: 'flop', idempotencyKey: key(`flop-${i}`) });
    }
    stop = true;
    await reader;
    expect(violations).toEqual([]);
    expect(reads).toBeGreaterThan(10);
    expect((await readPointer(db, 'flip'))!.version).toBe(121);
  });

  test('applyOnce: concurrent duplicates apply the effect once; the rest replay its result', async () => {
    await db.exec('CREATE TABLE IF NOT EXISTS effects (n int)');
    const runs = await Promise.all(
      Array.from({ length: 6 }, () =>
        applyOnce(db, { idempotencyKey: key('once'), activity: 'effect' }, async (tx) => {
          await tx.query('INSERT INTO effects VALUES (1)');
          return { applied: true };
        }),
      ),
    );
    expect(runs.filter((r) => !r.replayed)).toHaveLength(1);
    expect(runs.every((r) => r.result.applied)).toBe(true);
    expect((await db.query('SELECT count(*)::int AS n FROM effects')).rows[0]).toEqual({ n: 1 });
    // A failing effect leaves no audit row, so the retry can apply it.
    await expect(applyOnce(db, { idempotencyKey: key('boom'), activity: 'effect' }, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await countAudit(db, { activity: 'effect' })).toBe(1);
  });

  test('backup snapshots table and pointer; restore puts both back in one command', async () => {
    await initLane(db, { lane: 'bk', liveTable: 'live_a', liveConfigHash: 'a'.repeat(64), by: BY });
    const ref = await acts.backupLive({ lane: 'bk', workflowId: 'wf-test', by: BY, idempotencyKey: key('backup') });
    expect(ref).toMatchObject({ lane: 'bk', sourceTable: 'live_a', rows: 25, pointer: { version: 1, liveTable: 'live_a' } });
    expect(ref.backupId).toMatch(/^bk_bk_[0-9a-f]{12}$/);
    expect(await acts.backupLive({ lane: 'bk', workflowId: 'wf-test', by: BY, idempotencyKey: key('backup') })).toEqual(ref);
    expect((await listBackups(db, 'bk')).map((b) => b.backupId)).toEqual([ref.backupId]);

    // Damage: rows gone, pointer moved to a candidate.
    await db.query("DELETE FROM live_a WHERE doc_id <> 'doc-1'");
    await setSplit(db, { lane: 'bk', candidateTable: 'cand_b', candidateIndex: null, candidateConfigHash: 'b'.repeat(64), percent: 40, by: BY, reason: 'x' });
    const restored = await restoreBackup(db, ref.backupId, 'operator');
    expect(restored.rows).toBe(25);
    expect(restored.pointer).toMatchObject({ liveTable: 'live_a', candidateTable: null, canaryPercent: 0, updatedBy: 'operator' });
    // The generated tsvector column is recomputed, not copied.
    const tsv = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM live_a WHERE tsv @@ to_tsquery('english', 'chunk')");
    expect(tsv.rows[0].n).toBe(25);
    await expect(restoreBackup(db, 'bk_missing', 'operator')).rejects.toThrow(/no backup 'bk_missing'/);
  });

  test('the live-KPI reader counts each window once and weights by samples', async () => {
    const t0 = Date.UTC(2030, 0, 1);
    const w = (side: 'baseline' | 'candidate', startMin: number, samples: number, errorRate: number, p95Ms: number, qualityProxy: number) =>
      recordLiveKpiWindow(db, { lane: 'kpi', side, windowStart: new Date(t0 + startMin * 60_000), windowEnd: new Date(t0 + (startMin + 1) * 60_000), samples, errorRate, p95Ms, qualityProxy });
    for (let m = 0; m < 10; m++) await w('baseline', m, 100, 0.01, 20, 0.8);
    await w('candidate', 0, 100, 0.0, 20, 0.9);
    await w('candidate', 1, 300, 0.04, 40, 0.7);
    const first = await readLiveKpis(db, 'kpi', new Date(t0), new Date(t0 + 2 * 60_000));
    expect(first.baseline).toEqual({ samples: 200, errorRate: 0.01, p95Ms: 20, qualityProxy: 0.8 });
    expect(first.candidate.samples).toBe(400);
    expect(first.candidate.errorRate).toBeCloseTo(0.03, 10);
    expect(first.candidate.p95Ms).toBeCloseTo(35, 10);
    expect(first.candidate.qualityProxy).toBeCloseTo(0.75, 10);
    // The next window starts where this one ended: nothing is counted twice.
    const next = await readLiveKpis(db, 'kpi', new Date(t0 + 2 * 60_000), new Date(t0 + 5 * 60_000));
    expect(next.baseline.samples).toBe(300);
    expect(next.candidate).toEqual({ samples: 0, errorRate: null, p95Ms: null, qualityProxy: null });
    const check = await acts.checkLiveKpis({ lane: 'kpi', fromMs: t0 + 2 * 60_000, toMs: t0 + 5 * 60_000, thresholds: LiveThresholdsSchema.parse({}) });
    expect(check.verdict).toBe('inconclusive');
    // A bakeoff started before breachAlpha / p95MinIncreaseMs existed carries thresholds without them:
    // the check fills in the defaults instead of judging with undefined.
    const { breachAlpha: _a, p95MinIncreaseMs: _p, ...older } = LiveThresholdsSchema.parse({ minSamples: 100 });
    const old = await acts.checkLiveKpis({ lane: 'kpi', fromMs: t0, toMs: t0 + 2 * 60_000, thresholds: older as never });
    expect(old.gates.map((g) => [g.name, g.verdict])).toEqual([
      ['live:samples', 'pass'], ['live:error_rate', 'inconclusive'], ['live:p95_ms', 'fail'], ['live:quality_proxy', 'inconclusive'],
    ]);
    expect(old.gates[1].reason).toMatch(/within sampling noise .*α 0\.001; 400 vs 200 requests/);
  });

  test('promotion makes the candidate live and archives the old config in one statement', async () => {
    await initLane(db, { lane: 'pr', liveTable: 'live_a', liveConfigHash: 'a'.repeat(64), by: BY });
    const refused = await acts
      .promoteCandidate({ lane: 'pr', candidateTable: 'cand_b', candidateIndex: null, candidateConfigHash: 'b'.repeat(64), workflowId: 'wf-test', by: BY, idempotencyKey: key('promote-early') })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ type: 'PointerConflict' });
    await setSplit(db, { lane: 'pr', candidateTable: 'cand_b', candidateIndex: null, candidateConfigHash: 'b'.repeat(64), percent: 100, by: BY, reason: 'x' });
    const r = await acts.promoteCandidate({ lane: 'pr', candidateTable: 'cand_b', candidateIndex: null, candidateConfigHash: 'b'.repeat(64), workflowId: 'wf-test', by: 'bob', idempotencyKey: key('promote') });
    expect(r.pointer).toMatchObject({ liveTable: 'cand_b', liveConfigHash: 'b'.repeat(64), candidateTable: null, canaryPercent: 0, cacheEpoch: 1 });
    expect(r.archivedTable).toBe('live_a');
    const archive = await db.query('SELECT live_table, live_config_hash, replaced_by, archived_by FROM config_archive WHERE lane = $1', ['pr']);
    expect(archive.rows).toEqual([{ live_table: 'live_a', live_config_hash: 'a'.repeat(64), replaced_by: 'cand_b', archived_by: 'bob' }]);
  });

  test('reports land in bakeoff_reports and as a JSON file', async () => {
    const status = { workflowId: 'wf-test', phase: 'done', dryRun: true, verdict: 'pass', runs: 1 } as unknown as Parameters<PlatformActivities['writeReport']>[0]['status'];
    const ref = await acts.writeReport({ workflowId: 'wf-test', status, idempotencyKey: key('report-done') });
    expect(ref).toEqual({ reportId: 'wf-test:done:1', path: path.join(reportsDir, 'wf-test.json') });
    expect(await readReport(db, ref.reportId)).toMatchObject({ phase: 'done', verdict: 'pass' });
    expect(JSON.parse(fs.readFileSync(ref.path!, 'utf8'))).toMatchObject({ workflowId: 'wf-test' });
  });

  test('notifications: a JSON POST to the webhook, once per key; a log line without one; non-2xx is retryable', async () => {
    const received: Array<{ body: unknown; key: string | undefined }> = [];
    let status = 200;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ body: JSON.parse(body), key: req.headers['idempotency-key'] as string | undefined });
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const msg = { workflowId: 'wf-test', webhookUrl: url, event: 'phase' as const, phase: 'canary', message: 'stage 1/3', dryRun: false };
      expect(await acts.notify({ ...msg, idempotencyKey: key('notify-1') })).toEqual({ delivered: 'webhook' });
      expect(await acts.notify({ ...msg, idempotencyKey: key('notify-1') })).toEqual({ delivered: 'duplicate' });
      expect(received).toEqual([{ key: key('notify-1'), body: expect.objectContaining({ event: 'phase', phase: 'canary', message: 'stage 1/3' }) }]);
      status = 503;
      const err = await acts.notify({ ...msg, idempotencyKey: key('notify-2') }).catch((e: unknown) => e);
      expect(err).toMatchObject({ type: 'WebhookRejected', nonRetryable: false });
      expect(await acts.notify({ ...msg, webhookUrl: undefined, idempotencyKey: key('notify-3') })).toEqual({ delivered: 'log' });
      expect(logs).toContain('[bakeoff] wf-test phase phase=canary: stage 1/3');
    } finally {
      server.close();
    }
  });

  test('validateInput: defaults filled; a bad input is a non-retryable failure naming each field', async () => {
    const ok = await acts.validateInput({ candidate: { chunk_size: 450, overlap_ratio: 0.1, jaccard_threshold: 0.8, prefix_policy: 'A', embedder: 'm', tokenizer: 't', tokenizer_hash: 'deadbeef', chunk_version: 'v1', created_by: 'x' }, evalCases: { ref: 'faq:dev' }, requestedBy: 'ana' });
    expect(ok.ramp).toHaveLength(3);
    const err = await acts.validateInput({ candidate: { chunk_size: 450 }, evalCases: { ref: '' }, requestedBy: 'ana' } as never).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'BakeoffInputError', nonRetryable: true });
    expect((err as Error).message).toMatch(/evalCases\.ref: /);
  });
});

test('lockConfig runs in an activity context and refuses a guardrail violation without retries', async () => {
  const env = new MockActivityEnvironment();
  const acts = createActivities({ db: undefined as unknown as Db, dataPlane: createFixtureDataPlane(undefined as unknown as Db, HEALTHY) });
  const candidate = { chunk_size: 2000, overlap_ratio: 0.1, jaccard_threshold: 0.8, prefix_policy: 'A', embedder: 'm', tokenizer: 't', tokenizer_hash: 'deadbeef', chunk_version: 'v1', created_by: 'x' };
  const err = await env.run(acts.lockConfig, { candidate, requestedBy: 'ana' }).catch((e: unknown) => e);
  expect(err).toMatchObject({ type: 'ConfigValidationError', nonRetryable: true });
  expect((err as Error).message).toMatch(/chunk_size 2000 exceeds the cap of 1000 tokens/);
  const locked = (await env.run(acts.lockConfig, { candidate: { ...candidate, chunk_size: 450 }, requestedBy: 'ana' })) as LockedConfig;
  expect(locked.ingest_run_id).toBe(`v1-${locked.config_hash.slice(0, 8)}`);
});
