// Malformed signals, updates and start inputs against a REAL running bakeoff (the real workflow on
// the Temporal dev server, a worker process with the real activities and data plane):
//   - every malformed update is rejected by its validator with an ApplicationFailure that says what
//     is wrong, never enters the history, and changes nothing;
//   - every malformed signal is recorded as ignored and changes nothing else (except rollback, which
//     is honoured whatever its payload: rolling back is the safe side);
//   - a workflow started around the client's validation (raw client, another SDK) fails in its first
//     step with the field named, before any backup or pointer change.
import { Client, Connection, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { readPointer } from '../../src/store/pointer';
import { startBakeoff } from '../../src/client/bakeoff';
import type { bakeoff } from '../../src/workflows/bakeoff';
import { approveUpdate, pauseUpdate, statusQuery } from '../../src/workflows/messages';
import type { BakeoffStatus } from '../../src/workflows/types';
import { chaosInput } from '../chaos/chaos-input';
import { ChaosRun } from '../chaos/chaos-run';
import { createWorld, lock, type World } from '../chaos/world';
import { chaosSeed, ReliabilityRecorder, seededRandom } from '../support/reliability-record';

jest.setTimeout(10 * 60_000);

const TEMPORAL = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS!;
const PG = process.env.BAKEOFF_TEST_PG_URL!;
const recorder = new ReliabilityRecorder('input-messages');
const log = (line: string) => process.stderr.write(`${line}\n`);

const UPDATES = ['rollbackUpdate', 'pauseUpdate', 'resumeUpdate', 'promoteUpdate', 'extendSoakUpdate', 'approveUpdate', 'abortUpdate'] as const;
const SIGNALS = ['pause', 'resume', 'promote', 'extendSoak', 'approve', 'abort'] as const;

/** Payloads of the wrong shape for any message. */
const WRONG_TYPES: unknown[] = [null, 42, 'a string', [], [{ by: 'x' }], { by: 123 }, { by: '' }, { by: '   ' }, { by: 'x'.repeat(201) }, { by: 'mallory', unknownKey: true }, { by: 'mallory', reason: 42 }];
/** extendSoak durations that are not durations. */
const BAD_DURATIONS: unknown[] = ['-5m', -1000, 'NaN', null, '999999d', '5 minutes', [], {}, '1h; DROP TABLE x', 1e300, ''];

/** The parts of the status a message could change (live checks keep running and are left out). */
function stateOf(s: BakeoffStatus) {
  return {
    phase: s.phase,
    paused: s.paused,
    pausedBy: s.pausedBy,
    stage: s.stage && { index: s.stage.index, soakMs: s.stage.soakMs, remainingMs: s.stage.remainingMs, endsAt: s.stage.endsAt },
    awaiting: s.awaiting,
    approvals: s.approvals,
    rollback: s.rollback,
    promotion: s.promotion,
    verdict: s.verdict,
    events: s.events.filter((e) => e.kind !== 'live-check' && !(e.kind === 'note' && /notification/.test(e.message))),
  };
}

async function acceptedUpdates(client: Client, handle: WorkflowHandle<typeof bakeoff>): Promise<number> {
  let n = 0;
  let runId: string | undefined = (handle as { firstExecutionRunId?: string }).firstExecutionRunId;
  while (runId) {
    const h = await client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    let next: string | undefined;
    for (const e of h.events ?? []) {
      if (e.workflowExecutionUpdateAcceptedEventAttributes) n++;
      next = e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? next;
    }
    runId = next;
  }
  return n;
}

describe('malformed messages against a running bakeoff', () => {
  let world: World;
  let connection: Connection;
  let client: Client;
  let run: ChaosRun;
  let handle: WorkflowHandle<typeof bakeoff>;
  const lane = 'badmsg';
  const taskQueue = `badmsg-${chaosSeed()}-${Date.now()}`;

  beforeAll(async () => {
    [world, connection] = await Promise.all([createWorld({ serverUrl: PG, name: 'badmsg' }), Connection.connect({ address: TEMPORAL })]);
    client = new Client({ connection });
    await world.lane(lane);
    run = new ChaosRun({ world, client, temporalAddress: TEMPORAL, taskQueue, name: 'badmsg', lane, ramp: [20], candidateTable: lock(world, 'v450_badmsg').shadow_table, random: seededRandom(chaosSeed()), log });
    await run.startWorker();
    handle = await startBakeoff(client, chaosInput(world, { lane, chunkVersion: 'v450_badmsg', ramp: [{ percent: 20, soak: '30m' }], checkInterval: '2s' }), { taskQueue, workflowId: `badmsg-${Date.now()}` });
  });

  afterAll(async () => {
    await run?.close();
    await connection?.close();
    await world?.close();
  });

  /** Sends every bad update; each must be rejected by the validator, naming what is wrong. */
  async function rejectAll(cases: Array<{ update: string; args: unknown; mention: RegExp }>): Promise<number> {
    const before = stateOf(await handle.query(statusQuery));
    const acceptedBefore = await acceptedUpdates(client, handle);
    const wrong: string[] = [];
    for (const c of cases) {
      const err = await handle.executeUpdate(c.update, { args: [c.args] }).then(() => null, (e: unknown) => e);
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
      const ok = cause instanceof ApplicationFailure && c.mention.test(cause.message);
      if (!ok) wrong.push(`${c.update}(${JSON.stringify(c.args)}) → ${err === null ? 'ACCEPTED' : `${(err as Error).name}: ${(cause as Error | undefined)?.message ?? (err as Error).message}`}`);
    }
    expect(wrong).toEqual([]);
    expect(stateOf(await handle.query(statusQuery))).toEqual(before);
    expect(await acceptedUpdates(client, handle)).toBe(acceptedBefore);
    return cases.length;
  }

  test('awaiting the operator: malformed approvals are rejected; a valid one is accepted and recorded', async () => {
    await run.waitFor(handle, 'awaiting-operator', (s) => s.phase === 'awaiting-operator');
    const n = await rejectAll([
      ...WRONG_TYPES.map((args) => ({ update: 'approveUpdate', args, mention: /^approve: / })),
      { update: 'approveUpdate', args: {}, mention: /by: .*/ },
      { update: 'approveUpdate', args: { by: 'x', reason: '' }, mention: /reason: must say why/ },
      { update: 'promoteUpdate', args: { by: 'carol' }, mention: /awaits an operator decision/ },
      { update: 'extendSoakUpdate', args: { duration: '1h', by: 'carol' }, mention: /no soak is running/ },
    ]);
    recorder.input({ inputClass: 'updates: malformed approvals / actions wrong for the phase (awaiting operator)', tried: n, outcome: 'rejected by the validator (ApplicationFailure InvalidRequest naming the field or the phase); status and history unchanged', rejected: n, wronglyAccepted: 0, crashes: 0 });
    const ok = await handle.executeUpdate(approveUpdate, { args: [{ by: 'input-tester', reason: 'gates inconclusive on a tiny corpus' }] });
    expect(ok.approvals.at(-1)).toMatchObject({ by: 'input-tester', reason: 'gates inconclusive on a tiny corpus' });
  });

  test('in the canary: wrong payload types, negative and malformed durations, unknown keys — all rejected, nothing changes', async () => {
    await run.waitFor(handle, 'canary stage 1', (s) => s.phase === 'canary' && s.stage?.index === 0);
    // Paused, the soak clock stands still, so an extension that slipped through would show.
    await handle.executeUpdate(pauseUpdate, { args: [{ by: 'input-tester', reason: 'freeze the clock for the test' }] });
    const cases: Array<{ update: string; args: unknown; mention: RegExp }> = [];
    for (const u of UPDATES) for (const args of WRONG_TYPES) cases.push({ update: u, args, mention: new RegExp(`^${u.replace('Update', '')}: `) });
    for (const d of BAD_DURATIONS) cases.push({ update: 'extendSoakUpdate', args: { duration: d, by: 'mallory' }, mention: /^extendSoak: duration: / });
    cases.push({ update: 'extendSoakUpdate', args: { by: 'mallory' }, mention: /duration/ });
    cases.push({ update: 'rollbackUpdate', args: { by: 'mallory' }, mention: /reason/ });
    cases.push({ update: 'rollbackUpdate', args: { reason: 'no name' }, mention: /by/ });
    cases.push({ update: 'abortUpdate', args: { by: 'mallory', reason: '  ' }, mention: /reason: must say why/ });
    cases.push({ update: 'promoteUpdate', args: { by: 'mallory', full: 'yes' }, mention: /full/ });
    cases.push({ update: 'promoteUpdate', args: { by: 'carol' }, mention: /paused: resume it before promoting/ });
    cases.push({ update: 'approveUpdate', args: { by: 'carol' }, mention: /nothing awaits approval/ });
    const n = await rejectAll(cases);
    const wrongTypes = UPDATES.length * WRONG_TYPES.length;
    recorder.input({ inputClass: 'updates: wrong payload types / unknown keys (7 updates × 11 payloads)', tried: wrongTypes, outcome: 'rejected by the validator with "<update>: <field>: <problem>"; status and history unchanged', rejected: wrongTypes, wronglyAccepted: 0, crashes: 0 });
    recorder.input({ inputClass: 'updates: negative / malformed / absurd extendSoak durations', tried: BAD_DURATIONS.length + 1, outcome: 'rejected: "extendSoak: duration: …" (negative, not a duration, over 366d)', rejected: BAD_DURATIONS.length + 1, wronglyAccepted: 0, crashes: 0 });
    recorder.input({ inputClass: 'updates: missing who/why, actions wrong for the state', tried: n - wrongTypes - BAD_DURATIONS.length - 1, outcome: 'rejected, naming the missing field or the state', rejected: n - wrongTypes - BAD_DURATIONS.length - 1, wronglyAccepted: 0, crashes: 0 });

    // Unknown update names are refused by the SDK; unknown signals are buffered and change nothing.
    const before = stateOf(await handle.query(statusQuery));
    const unknown = await handle.executeUpdate('dropTables', { args: [{ by: 'mallory' }] }).then(() => null, (e: unknown) => e);
    expect(unknown).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((unknown as WorkflowUpdateFailedError).cause?.message)).toMatch(/dropTables/);
    for (const name of ['dropTables', 'rollbackk', 'ROLLBACK']) await handle.signal(name, { by: 'mallory', reason: 'x' });
    // A nameless signal never reaches the workflow: the server refuses it.
    await expect(handle.signal('', { by: 'mallory' })).rejects.toThrow(/Failed to signal/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(stateOf(await handle.query(statusQuery))).toEqual(before);
    recorder.input({ inputClass: 'unknown update and signal names', tried: 5, outcome: 'update refused ("no handler"), nameless signal refused by the server, unknown signals buffered unhandled; nothing changed', rejected: 5, wronglyAccepted: 0, crashes: 0 });
  });

  test('malformed signals are recorded as ignored and change nothing else', async () => {
    const before = stateOf(await handle.query(statusQuery));
    let sent = 0;
    for (const name of SIGNALS) {
      for (const args of WRONG_TYPES) {
        await handle.signal(name, args);
        sent++;
      }
    }
    for (const d of BAD_DURATIONS) {
      await handle.signal('extendSoak', { duration: d, by: 'mallory' });
      sent++;
    }
    const after = await run.waitFor(handle, 'every ignored signal recorded', (s) => s.events.filter((e) => /^ignored .* signal/.test(e.message)).length >= Math.min(40, sent));
    const isIgnored = (m: string) => /^ignored .* signal/.test(m);
    const ignored = after.events.filter((e) => isIgnored(e.message));
    // Each says which signal, from whom, and why it was not applied.
    for (const e of ignored) expect(e.message).toMatch(/^ignored \w+ signal( from .+)?: .+/);
    // Nothing else moved. (The event window holds the last 60, so older events may have scrolled out:
    // every other event left must be one that was there before.)
    const a = stateOf(after);
    expect({ ...a, events: null }).toEqual({ ...before, events: null });
    const known = new Set(before.events.map((e) => `${e.at}|${e.message}`));
    expect(a.events.filter((e) => !isIgnored(e.message) && !known.has(`${e.at}|${e.message}`))).toEqual([]);
    recorder.input({ inputClass: 'signals: wrong payload types and bad durations (6 signals)', tried: sent, outcome: 'recorded as "ignored <signal> signal: <field>: <problem>"; nothing else changed', rejected: sent, wronglyAccepted: 0, crashes: 0 });
  });

  test('a malformed rollback signal still rolls back (the safe side), recorded as from "unknown"', async () => {
    const p0 = await readPointer(world.db, lane);
    expect(p0?.canaryPercent).toBe(20);
    await handle.signal('rollback', { reason: 42, by: null });
    const result = await run.finish(handle, 120_000);
    expect(result.outcome).toBe('rolled-back');
    expect(result.status.rollback).toMatchObject({ by: 'unknown', reason: '(no reason given)', automatic: false });
    expect(await readPointer(world.db, lane)).toMatchObject({ liveTable: world.baseline.table, candidateTable: null, canaryPercent: 0 });
    recorder.input({ inputClass: 'signals: malformed rollback', tried: 1, outcome: 'honoured (rolling back is the safe side), recorded as by "unknown", reason "(no reason given)"', rejected: 0, wronglyAccepted: 0, crashes: 0 });
  });

  test('a workflow started around the client validation fails in its first step, naming the field, before any change', async () => {
    const good = chaosInput(world, { lane, chunkVersion: 'v450_badstart', ramp: [{ percent: 20, soak: '1m' }] });
    const bad: Array<{ name: string; input: unknown; mention: RegExp }> = [
      { name: 'SQL in the lane', input: { ...good, baseline: { lane: "x'; DROP TABLE serving_pointer; --" } }, mention: /baseline\.lane/ },
      { name: 'negative soak', input: { ...good, ramp: [{ percent: 20, soak: '-1h' }] }, mention: /ramp\.0\.soak: duration must not be negative/ },
      { name: 'percent 150', input: { ...good, ramp: [{ percent: 150, soak: '1h' }] }, mention: /ramp\.0\.percent/ },
      { name: 'unknown key', input: { ...good, dropTables: true }, mention: /dropTables/ },
      { name: 'chunk_size over the cap', input: { ...good, candidate: { ...(good.candidate as object), chunk_size: 5000 } }, mention: /candidate\.chunk_size/ },
      { name: 'thresholds of the wrong type', input: { ...good, thresholds: { offline: { minCases: 'many' } } }, mention: /thresholds\.offline\.minCases/ },
      { name: 'not an object at all', input: 'rm -rf /', mention: /invalid bakeoff input/ },
    ];
    const pointerBefore = await readPointer(world.db, lane);
    for (const b of bad) {
      const h = await client.workflow.start('bakeoff', { taskQueue, workflowId: `badstart-${Date.now()}-${bad.indexOf(b)}`, args: [b.input] });
      const r = (await h.result()) as { outcome: string; status: BakeoffStatus };
      expect([b.name, r.outcome]).toEqual([b.name, 'failed']);
      expect(r.status.failure).toMatch(b.mention);
      expect(r.status.backupId).toBeNull();
    }
    expect(await readPointer(world.db, lane)).toEqual(pointerBefore);
    recorder.input({ inputClass: 'bakeoff inputs sent around the client validation (raw start)', tried: bad.length, outcome: 'each workflow failed in validateInput with the field named; no backup, pointer untouched', rejected: bad.length, wronglyAccepted: 0, crashes: 0 });
  });
});
