// The shadow stage on by default (issue 14): where the CLI fills it in, how it is switched off, the
// dry-run exit code's reading of the shadow verdict, and the shadow stage in `bakeoff status`, the
// dry-run printout and the HTML report. Pure: no server needed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildRawInput, validateInput } from '../../src/cli/bakeoff-input';
import { dryRunTrafficSource } from '../../src/cli/dry-run-traffic';
import { dryRunExitCode, EXIT } from '../../src/cli/exit-codes';
import { renderShadow, renderStatus } from '../../src/cli/render';
import { DEFAULT_DRY_RUN_SHADOW, DEFAULT_SHADOW, withShadowDefault } from '../../src/client/shadow-defaults';
import { renderBakeoffReport } from '../../src/report/html-report';
import type { BakeoffStatus, Gate, ShadowStatus } from '../../src/workflows/types';
import { rolledBackStatus, T0 } from '../report/status-fixture';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadow-default-'));
  fs.writeFileSync(path.join(dir, 'cand.yaml'), 'chunk_size: 450\noverlap_ratio: 0.1\njaccard_threshold: 0.8\nprefix_policy: A\nchunk_version: v450_sd\ntokenizer_hash: abcdef0123\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the CLI fills in the shadow stage: 30m for start, 60s every 10s for dry-run; --shadow and the file override it', () => {
  const config = path.join(dir, 'cand.yaml');
  const start = validateInput(buildRawInput({ config, by: 'dana' }));
  expect(start.shadow).toEqual({ soak: 30 * 60_000, percent: 100, minOverlapAt10: 0.5, onInconclusive: 'canary' });
  const dry = validateInput(buildRawInput({ config, by: 'dana' }, { dryRun: true }));
  expect(dry.shadow).toEqual({ soak: 60_000, checkInterval: 10_000, percent: 100, minOverlapAt10: 0.5, onInconclusive: 'canary' });

  expect(validateInput(buildRawInput({ config, by: 'dana', shadow: 'off' })).shadow).toBeUndefined();
  // --shadow DURATION keeps the rest of the default of its kind.
  expect(validateInput(buildRawInput({ config, by: 'dana', shadow: '2m' }, { dryRun: true })).shadow).toMatchObject({ soak: 120_000, checkInterval: 10_000 });
  expect(() => buildRawInput({ config, by: 'dana', shadow: 'soon' })).toThrow(/^--shadow: 'soon' is not a duration/);

  // A whole input file: `shadow: false` switches it off, a given shadow is kept as written.
  fs.writeFileSync(path.join(dir, 'off.yaml'), 'candidate: { chunk_size: 450, overlap_ratio: 0.1, jaccard_threshold: 0.8, prefix_policy: A, chunk_version: v450_sd, tokenizer_hash: abcdef0123 }\nshadow: false\n');
  expect(validateInput(buildRawInput({ config: path.join(dir, 'off.yaml'), by: 'x' })).shadow).toBeUndefined();
  fs.writeFileSync(path.join(dir, 'own.yaml'), 'candidate: { chunk_size: 450, overlap_ratio: 0.1, jaccard_threshold: 0.8, prefix_policy: A, chunk_version: v450_sd, tokenizer_hash: abcdef0123 }\nshadow: { soak: 2h, onInconclusive: ask-operator }\n');
  expect(validateInput(buildRawInput({ config: path.join(dir, 'own.yaml'), by: 'x' })).shadow).toEqual({ soak: 7_200_000, percent: 100, minOverlapAt10: 0.5, onInconclusive: 'ask-operator' });
});

test('withShadowDefault never touches a given shadow and never mutates its argument', () => {
  const raw = { dryRun: true };
  expect(withShadowDefault(raw)).toEqual({ dryRun: true, shadow: DEFAULT_DRY_RUN_SHADOW });
  expect(raw).toEqual({ dryRun: true });
  expect(withShadowDefault({})).toEqual({ shadow: DEFAULT_SHADOW });
  expect(withShadowDefault({ shadow: { soak: '5m' } })).toEqual({ shadow: { soak: '5m' } });
  expect(withShadowDefault({ shadow: 'off' })).toEqual({});
});

const gate = (name: string, verdict: Gate['verdict']): Gate => ({ name, source: 'live', value: 1, baseline: 1, threshold: 1, direction: 'lower-is-better', verdict, reason: `${name} ${verdict}` });

function shadow(over: Partial<ShadowStatus> = {}): ShadowStatus {
  return {
    percent: 100, soakMs: 60_000, remainingMs: 0, startedAt: T0, mirrorSetAt: T0 - 100, mirrorClearedAt: T0 + 61_000,
    live: { checks: 6, passes: 1, fails: 0, inconclusive: 5, failStreak: 0, inconclusiveStreak: 0, lastAt: T0 + 60_000, lastVerdict: 'pass', lastGates: [gate('live:latency', 'pass'), gate('shadow:overlap_at10', 'pass')] },
    mirror: { n: 287, meanOverlapAt10: 0.8123, meanRbo: 0.7456, top1ChangeRate: 0.1742, dropped: 301, droppedShare: 0.5119 },
    outcome: 'passed',
    ...over,
  };
}

test('dry-run exit code: a failed shadow stage fails the run (1); an unproven one does not block; offline rules unchanged', () => {
  const done = { phase: 'done' as const, verdict: 'pass' as const };
  expect(dryRunExitCode({ ...done, shadow: shadow() })).toBe(EXIT.OK);
  expect(dryRunExitCode({ ...done, shadow: shadow({ outcome: 'failed' }) })).toBe(EXIT.GATE_FAILED);
  expect(dryRunExitCode({ ...done, shadow: shadow({ outcome: 'judged' }) })).toBe(EXIT.OK);
  expect(dryRunExitCode({ ...done, shadow: undefined })).toBe(EXIT.OK);
  expect(dryRunExitCode({ phase: 'done', verdict: 'inconclusive', shadow: shadow({ outcome: 'failed' }) })).toBe(EXIT.GATE_FAILED);
  expect(dryRunExitCode({ phase: 'done', verdict: 'inconclusive', shadow: shadow() })).toBe(EXIT.ERROR);
});

test('dry-run traffic is opt-in (a real bakeoff may run on the lane): without --traffic one line says how to drive some', () => {
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  expect(dryRunTrafficSource('eval-questions', true, { DATABASE_URL: 'postgres://u@h/db' }, log)).toBe('eval-questions');
  expect(dryRunTrafficSource('none', true, { DATABASE_URL: 'postgres://u@h/db' }, log)).toBeNull();
  expect(dryRunTrafficSource('q.jsonl', false, {}, log)).toBe('q.jsonl');
  expect(dryRunTrafficSource(undefined, false, {}, log)).toBeNull();
  expect(lines).toEqual([]);
  expect(dryRunTrafficSource(undefined, true, { DATABASE_URL: 'postgres://u@h/db' }, log)).toBeNull();
  expect(lines[0]).toBe("shadow stage: judges the lane's own traffic (the retrieval service mirrors it); on a lane no one else uses, --traffic eval-questions drives the real service from here");
  expect(dryRunTrafficSource(undefined, true, {}, log)).toBeNull();
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatch(/--traffic eval-questions needs DATABASE_URL=postgres:\/\/… \(.*scripts\/provision\/postgres\.sh/);
});

test('status, dry-run printout and report show the shadow stage and its label-free comparisons', () => {
  expect(renderShadow(shadow())).toEqual([
    '100 % of requests mirrored to the candidate (never served) · soak 1m · PASSED',
    'compared 287 · dropped 301 (51.2 % of mirror jobs) · overlap@10 0.812 · RBO 0.746 · top-1 changed 17.4 %',
    '6 checks: 1 pass, 5 inconclusive, 0 fail · last PASS at 2026-11-20 08:01:00 UTC',
    'mirror set 2026-11-20 07:59:59 UTC, cleared 2026-11-20 08:01:01 UTC',
  ]);
  expect(renderShadow(shadow({ outcome: null, remainingMs: 42_500, mirrorClearedAt: null }))[0]).toBe('100 % of requests mirrored to the candidate (never served) · soak 1m · running, 42s left');
  expect(renderShadow(shadow({ outcome: 'unproven' }))[0]).toMatch(/not proven, went on to the canary$/);

  const base = rolledBackStatus();
  const st: BakeoffStatus = { ...base, shadow: shadow({ outcome: 'failed', live: { ...shadow().live, lastVerdict: 'fail', lastGates: [gate('live:latency', 'fail')] } }) };
  const text = renderStatus({
    execution: { workflowId: st.workflowId, runId: '01234567-89ab', type: 'bakeoff', taskQueue: 'bakeoff', executionStatus: 'COMPLETED', startTime: new Date(T0).toISOString(), closeTime: null, historyLength: 50, phase: 'rolled-back', configHash: null, pendingActivities: [] },
    status: st, source: 'result', note: null,
  }, { now: T0 });
  expect(text).toContain('Shadow    100 % of requests mirrored to the candidate (never served) · soak 1m · FAILED');
  expect(text).toContain('          compared 287 · dropped 301');
  expect(text).toMatch(/Shadow gates \(mirrored requests, last check .*\)\nGATE .*\nlive:latency\s+live\s+.*FAIL/);

  const html = renderBakeoffReport(st);
  expect(html).toContain('<h2 id="shadow">Shadow stage</h2>');
  expect(html).toContain('data-shadow-outcome="failed"');
  expect(html).toContain('<span data-shadow-compared>287</span>');
  expect(html).toContain('0.812');
  expect(html).toContain('51.2 %');
  expect(html).toContain('id="shadow-gates"');
  expect(renderBakeoffReport(base)).toContain('id="shadow-none"');
  const dryFailed = renderBakeoffReport({ ...base, phase: 'done', dryRun: true, verdict: 'pass', rollback: null, shadow: shadow({ outcome: 'failed' }) });
  expect(dryFailed).toContain('<strong data-outcome>dry run failed</strong>');
});
