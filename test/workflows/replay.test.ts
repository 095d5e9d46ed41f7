// Replays recorded bakeoff histories (test/fixtures/histories, written by the workflow tests with
// RECORD_HISTORIES=1) through the current workflow code. A change that alters the sequence of
// commands of an in-flight bakeoff without patched() fails here, before it can wedge production
// workflows. Re-record (and review the diff) only for intentional, patched changes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode, Worker, type ReplayResult } from '@temporalio/worker';
import { workflowBundle } from './harness';
import { historyFromCliJson } from './history-json';

const dir = path.join(__dirname, '..', 'fixtures', 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

function histories() {
  return files.map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: historyFromCliJson(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))),
  }));
}

async function replayAll(bundle: Awaited<ReturnType<typeof workflowBundle>>): Promise<ReplayResult[]> {
  const out: ReplayResult[] = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, histories())) out.push(r);
  return out;
}

test('recorded histories cover the main paths', () => {
  const names = new Set(files.map((f) => f.replace(/\.run\d+\.json$/, '')));
  // operator-rollback-no-worker was recorded by an earlier version of the ramp test (worker stopped
  // before the signal); it stays because old histories are exactly what replay must keep accepting.
  expect([...names].sort()).toEqual(expect.arrayContaining(['dry-run', 'inconclusive-abort', 'inconclusive-approve', 'operator-rollback-no-worker']));
  // Recorded with the patches of the live judge, lane lease, fenced split, run-end rollback and
  // operator identity in force (test/workflows/bakeoff-coordination.test.ts), next to the older ones.
  expect([...names]).toEqual(expect.arrayContaining(['identity-judge-promote', 'lane-busy', 'run-end-rollback']));
});

test('the current workflow code replays every recorded history deterministically', async () => {
  const results = await replayAll(await workflowBundle());
  expect(results).toHaveLength(files.length);
  for (const r of results) {
    expect({ workflowId: r.workflowId, error: r.error?.message }).toEqual({ workflowId: r.workflowId, error: undefined });
  }
});

test('a changed workflow fails the replay (the check can fail)', async () => {
  const changed = await bundleWorkflowCode({
    workflowsPath: require.resolve('../fixtures/workflows/bakeoff-changed'),
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  const results = await replayAll(changed);
  expect(results).toHaveLength(files.length);
  for (const r of results) {
    expect(r.error?.name).toBe('DeterminismViolationError');
  }
});
