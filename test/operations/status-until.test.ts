// Issue 15 item 4, on the real dev server with the real workflow: `bakeoff status ID --until PHASE`
// prints EVERY phase change — read from the history, so phases that come and go between two polls
// (the fixture data plane runs locking … gating in well under a second) and phases recorded while no
// worker answers queries are not lost — and says what it is waiting for: no worker yet, or the phase
// it has been sitting in and for how long.
import * as path from 'node:path';
import { HEALTHY } from '../fixtures/data-plane';
import { bakeoffBinDir, bakeoffInProcess, run } from '../support/cli';
import { createLane, createOpsRig, writeInputFile, type OpsRig } from './rig';

let rig: OpsRig;
beforeAll(async () => {
  rig = await createOpsRig('until');
});
afterAll(async () => {
  await rig?.close();
});

const bakeoff = (args: string[], timeoutMs = 90_000) => run(path.join(bakeoffBinDir(), 'bakeoff'), args, { env: rig.env, timeoutMs });

test('--until prints every phase change from the history, and what it waits for', async () => {
  const lane = 'until_main';
  await createLane(rig.db, lane);
  const file = writeInputFile(rig.home, 'until', lane, 'v450_until');
  // Started while no worker runs: nothing has happened yet, and nobody can answer a query.
  const started = await bakeoffInProcess(['start', '--config', file, '--shadow', 'off', '--quiet'], rig.env);
  expect(started.code).toBe(0);
  const id = started.stdout.trim();

  const watching = bakeoff(['status', id, '--until', 'canary', '--watch', '1', '--timeout', '80']);
  await new Promise((r) => setTimeout(r, 4000));
  await rig.startWorker(HEALTHY);
  const r = await watching;
  expect(r.code).toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines[0]).toMatch(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] ${id}: waiting for canary — no phase recorded yet: no worker has run the bakeoff on task queue '${rig.taskQueue}' \\(check: bakeoff workers\\)$`));
  // (it repeats while the worker starts: bundling the workflow code takes a while on a busy machine)
  const rest = lines.slice(1).filter((l) => !l.includes(': waiting for canary — no phase recorded yet'));
  const phases = rest.map((l) => new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] ${id}: (\\S+)$`).exec(l)?.[1] ?? `unexpected line: ${l}`);
  expect(phases).toEqual(['locking', 'backing-up', 'ingesting', 'evaluating', 'probing', 'gating', 'canary']);
  expect(r.stdout).toMatch(/^Phase\s+canary$/m);

  // Sitting in the canary (1 h soak): after a quiet while it says so, then gives up at --timeout.
  const waiting = await bakeoff(['status', id, '--until', 'done', '--watch', '1', '--timeout', '14']);
  expect(waiting.code).toBe(2);
  const w = waiting.stderr.trim().split('\n');
  // attaching later replays this run's phase changes with their recorded times, then waits
  const attached = w.slice(0, 7).map((l) => new RegExp(`^\\[(\\d\\d:\\d\\d:\\d\\d)\\] ${id}: (\\S+)$`).exec(l)?.slice(1));
  expect(attached.map((x) => x?.[1])).toEqual(['locking', 'backing-up', 'ingesting', 'evaluating', 'probing', 'gating', 'canary']);
  expect(attached.map((x) => x?.[0])).toEqual(lines.slice(-7).map((l) => l.slice(1, 9))); // the same times as seen live
  expect(w).toContainEqual(expect.stringMatching(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] ${id}: waiting for done — canary since \\d\\d:\\d\\d:\\d\\d \\(\\d+s\\), no activity pending$`)));
  expect(w[w.length - 1]).toBe(`bakeoff: bakeoff ${id} did not reach phase done within 14 s (it is canary)`);

  await bakeoffInProcess(['rollback', id, '--reason', 'test over', '--wait'], rig.env);
  await rig.stopWorker();
}, 180_000);
