// The CLI's pure parts: the status view and tables, the list query, the input file + flags merge,
// message arguments, the UI link and the dry-run exit code. No server needed.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildRawInput, localTokenizerHash, parseRampFlag, readStructuredFile } from '../../src/cli/bakeoff-input';
import { actionArgs } from '../../src/cli/commands/control';
import { listQuery } from '../../src/cli/commands/inspect';
import { dryRunExitCode } from '../../src/cli/commands/lifecycle';
import { CliError } from '../../src/cli/errors';
import { formatThreshold, renderStatus, renderTable, soakLeft } from '../../src/cli/render';
import type { StatusAnswer } from '../../src/cli/status-source';
import { uiUrlFor } from '../../src/cli/target';
import { PauseArgsSchema, ExtendSoakArgsSchema } from '../../src/workflows/messages';
import type { BakeoffStatus } from '../../src/workflows/types';

const T0 = Date.UTC(2025, 10, 22, 5, 0, 0);

function status(over: Partial<BakeoffStatus> = {}): BakeoffStatus {
  return {
    workflowId: 'bakeoff-default-0123456789abcdef', requestedBy: 'alice', lane: 'default', configHash: 'ab'.repeat(32),
    ingestRunId: 'v450_o10_j80_a-abababab', shadowTable: 'document_chunks_v450_o10_j80_a', dryRun: false, phase: 'canary',
    verdict: 'pass', paused: false, baseline: { lane: 'default', table: 'document_chunks_v512_o0_nodedup', index: null, configHash: 'cd'.repeat(32), pointerVersion: 3 },
    backupId: 'bk_default_0123456789ab',
    stage: { index: 0, percent: 10, soakMs: 16 * 3_600_000, remainingMs: 10 * 3_600_000, endsAt: T0 + 10 * 3_600_000, startedAt: T0 - 6 * 3_600_000 },
    stagesTotal: 3,
    gates: [
      { name: 'hit_rate', source: 'offline', value: 0.63, baseline: 0.55, threshold: 0.6, upper: 0.7, direction: 'within-band', verdict: 'pass', reason: 'gain 8 pts is within +5..+15 pts' },
      { name: 'p95_total_ms', source: 'offline', value: 21, baseline: 20, threshold: 23, direction: 'lower-is-better', verdict: 'pass', reason: '5 % vs baseline' },
    ],
    ingest: null, evaluation: null,
    live: { checks: 4, passes: 3, fails: 0, inconclusive: 1, failStreak: 0, inconclusiveStreak: 1, lastAt: T0 - 60_000, lastVerdict: 'inconclusive', lastGates: [] },
    awaiting: null, approvals: [], rollback: null, promotion: null, failure: null, runs: 1, events: [{ at: T0 - 1000, kind: 'phase', message: 'canary: stage 1/3: 10% for 16h' }],
    reportId: null, asOf: T0 - 5000,
    ...over,
  };
}

function answer(s: BakeoffStatus | null, note: string | null = null): StatusAnswer {
  return {
    execution: { workflowId: 'bakeoff-default-0123456789abcdef', runId: '01234567-89ab', type: 'bakeoff', taskQueue: 'bakeoff', executionStatus: 'RUNNING', startTime: new Date(T0 - 7 * 3_600_000).toISOString(), closeTime: null, historyLength: 50, phase: 'canary', configHash: 'ab'.repeat(32), pendingActivities: [] },
    status: s, source: s ? 'query' : 'server-records', note,
  };
}

test('status view: stage with the soak time left as of now, gates with thresholds by direction', () => {
  const text = renderStatus(answer(status()), { now: T0 + 30 * 60_000 - 999, workflowUrl: 'http://ui/x' });
  expect(text).toContain('Stage     1 of 3 · 10 % of traffic to the candidate · soak 16h · 9h30m left (ends 2025-11-22 15:00:00 UTC)');
  expect(text).toMatch(/^hit_rate\s+offline\s+0\.630\s+0\.550\s+0\.600 … 0\.700\s+PASS\s+gain 8 pts/m);
  expect(text).toMatch(/^p95_total_ms\s+offline\s+21\s+20\s+≤ 23\s+PASS/m);
  expect(text).toContain('Live      4 checks: 3 pass, 1 inconclusive, 0 fail · last INCONCLUSIVE at 2025-11-22 04:59:00 UTC');
  expect(text).toContain('Web UI    http://ui/x');
  expect(text).toContain('Backup    bk_default_0123456789ab (restore: bakeoff backup restore bk_default_0123456789ab --confirm)');
});

test('status view: a paused clock, an awaited decision, a rollback, and the no-worker fallback', () => {
  const paused = status({ paused: true, pausedBy: 'bob', stage: { ...status().stage!, endsAt: null, remainingMs: 5_400_000 } });
  expect(renderStatus(answer(paused), { now: T0 })).toContain('Phase     canary  [PAUSED by bob]');
  expect(renderStatus(answer(paused), { now: T0 })).toContain('1h30m left, clock stopped (paused)');
  expect(soakLeft(paused, T0 + 3_600_000)).toEqual({ ms: 5_400_000, running: false });

  const awaiting = status({ phase: 'awaiting-operator', stage: null, verdict: 'inconclusive', awaiting: { reason: 'offline gates inconclusive: hit_rate', since: T0, deadline: T0 + 86_400_000, resumesAt: 'canary' } });
  const a = renderStatus(answer(awaiting), { now: T0 });
  expect(a).toContain('Awaiting  offline gates inconclusive: hit_rate');
  expect(a).toContain('decide by 2025-11-23 05:00:00 UTC: bakeoff approve bakeoff-default-0123456789abcdef  |  bakeoff abort bakeoff-default-0123456789abcdef --reason "…"');

  const rolled = status({ phase: 'rolled-back', stage: null, rollback: { by: 'carol', reason: 'p95 up', requestedAt: T0, automatic: false, pointerRestoredAt: T0 + 400, pointerVersion: 7, smoke: { ok: true, hitRate: 0.55, cases: 20 }, completedAt: T0 + 2000 } });
  expect(renderStatus(answer(rolled), { now: T0 })).toContain(
    'Rollback  requested by carol at 2025-11-22 05:00:00 UTC: p95 up · pointer back on the baseline (v7) at 2025-11-22 05:00:00 UTC · smoke eval ok (hit rate 0.550 on 20 cases) · completed 2025-11-22 05:00:02 UTC',
  );

  const fallback = renderStatus(answer(null, 'no worker answered'), { now: T0 });
  expect(fallback).toContain('Phase     canary (from the BakeoffPhase search attribute)');
  expect(fallback).toContain('NOTE: no worker answered');
});

test('tables align columns; thresholds read by direction', () => {
  expect(renderTable(['A', 'LONGER'], [['xx', '1'], ['y', '22']])).toBe('A   LONGER\nxx  1\ny   22');
  expect(formatThreshold({ threshold: 0.6, upper: 0.7, direction: 'within-band' })).toBe('0.600 … 0.700');
  expect(formatThreshold({ threshold: 0.6, direction: 'higher-is-better' })).toBe('≥ 0.600');
  expect(formatThreshold({ threshold: 23, direction: 'lower-is-better' })).toBe('≤ 23');
  expect(formatThreshold({ threshold: null, direction: 'lower-is-better' })).toBe('—');
});

test('list query: search attributes, validated values only', () => {
  expect(listQuery({})).toBe("WorkflowType = 'bakeoff' AND ExecutionStatus != 'ContinuedAsNew'");
  expect(listQuery({ phase: 'canary', configHash: 'ab12', running: true })).toBe(
    "WorkflowType = 'bakeoff' AND BakeoffPhase = 'canary' AND ConfigHash STARTS_WITH 'ab12' AND ExecutionStatus = 'Running'",
  );
  expect(listQuery({ configHash: 'a'.repeat(64) })).toContain(`ConfigHash = '${'a'.repeat(64)}'`);
  expect(() => listQuery({ phase: "canary' OR 1=1 --" })).toThrow(CliError);
  expect(() => listQuery({ configHash: "ab' OR '1'='1" })).toThrow('--config-hash');
});

test('input: a bare candidate file is wrapped, flags win over the file, the tokenizer identity is filled in', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-input-'));
  const models = path.join(dir, 'models', 'my-model');
  fs.mkdirSync(models, { recursive: true });
  fs.writeFileSync(path.join(models, 'tokenizer.json'), '{"model":"x"}');
  expect(localTokenizerHash('my-model', path.join(dir, 'models'))).toBe(createHash('sha256').update('{"model":"x"}').digest('hex'));
  expect(() => localTokenizerHash('absent', path.join(dir, 'models'))).toThrow(/candidate.tokenizer_hash is not given and .*absent\/tokenizer.json does not exist/);

  const file = path.join(dir, 'cand.yaml');
  fs.writeFileSync(file, 'chunk_size: 450\noverlap_ratio: 0.1\njaccard_threshold: 0.8\nprefix_policy: A\nchunk_version: v450_x\ntokenizer_hash: abcdef0123\n');
  const raw = buildRawInput({ config: file, chunkSize: '300', lane: 'blue', ramp: '5:1h,100:2h', by: 'dana' });
  expect(raw).toMatchObject({
    candidate: { chunk_size: 300, overlap_ratio: 0.1, tokenizer_hash: 'abcdef0123', tokenizer: 'all-MiniLM-L6-v2', embedder: 'all-MiniLM-L6-v2', created_by: 'dana' },
    baseline: { lane: 'blue' },
    evalCases: { ref: 'faq:dev' },
    ramp: [{ percent: 5, soak: '1h' }, { percent: 100, soak: '2h' }],
    requestedBy: 'dana',
  });
  expect(() => buildRawInput({ config: file, chunkSize: 'lots', by: 'x' })).toThrow('--chunk-size "lots": must be a number');
  expect(parseRampFlag('10%:16h, 50:16h')).toEqual([{ percent: 10, soak: '16h' }, { percent: 50, soak: '16h' }]);
  expect(() => parseRampFlag('10-16h')).toThrow('--ramp stage 1 "10-16h": write PERCENT:SOAK');
  fs.writeFileSync(path.join(dir, 'list.json'), '[1,2]');
  expect(readStructuredFile(path.join(dir, 'list.json'))).toEqual([1, 2]);
  expect(() => buildRawInput({ config: path.join(dir, 'list.json'), by: 'x' })).toThrow('expected a mapping (an object), got a list');
  fs.writeFileSync(path.join(dir, 'bad.json'), '{"a":');
  expect(() => readStructuredFile(path.join(dir, 'bad.json'))).toThrow(/bad\.json: not valid JSON: /);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('message arguments are checked with the workflow\'s schemas before anything is sent', () => {
  const spec = (command: string, schema: unknown) => ({ command, schema, description: '', waitTimeout: '1m', signal: { name: command }, update: { name: `${command}Update` } }) as never;
  expect(actionArgs(spec('pause', PauseArgsSchema), { reason: 'dashboards' }, { USER: 'erin' })).toEqual({ by: 'erin', reason: 'dashboards' });
  expect(() => actionArgs(spec('pause', PauseArgsSchema), { reason: '   ' }, { USER: 'erin' })).toThrow('pause: --reason must say why');
  expect(() => actionArgs(spec('extend-soak', ExtendSoakArgsSchema), {}, { USER: 'erin' }, '-5m')).toThrow("bad duration: duration must not be negative, got '-5m'");
  expect(actionArgs(spec('extend-soak', ExtendSoakArgsSchema), { by: 'fay' }, {}, '1h30m')).toEqual({ by: 'fay', duration: '1h30m' });
});

test('UI links and dry-run exit codes', () => {
  expect(uiUrlFor('127.0.0.1:7233', {})).toBe('http://127.0.0.1:8233');
  expect(uiUrlFor('temporal.prod:7233', {})).toBeNull();
  expect(uiUrlFor('temporal.prod:7233', { BAKEOFF_UI_URL: 'https://ui.example/' })).toBe('https://ui.example');
  expect(dryRunExitCode(status({ phase: 'done', verdict: 'pass' }))).toBe(0);
  expect(dryRunExitCode(status({ phase: 'failed', verdict: 'fail' }))).toBe(1);
  expect(dryRunExitCode(status({ phase: 'done', verdict: 'inconclusive' }))).toBe(2);
  expect(dryRunExitCode(status({ phase: 'failed', verdict: null }))).toBe(2);
});
