// Issue 15 item 5: the Web UI's workflow page lists each activity and timer of a bakeoff; without a
// summary it says only "setTrafficSplit" or "Timer 4s". Every activity the bakeoff schedules and
// every durable timer it starts now carries a one-line summary (src/workflows/summaries.ts) in its
// event's user metadata, which the UI shows on the event. One compressed bakeoff (one 10 % stage of
// 4s, no traffic, so its end asks an operator; then an operator rolls it back) on a REAL dev server
// with its Web UI (the time-skipping test server keeps no user metadata), with the real workflow
// bundle and platform activities on PGlite; the data plane is the workflow tests' scripted fixture
// (test/fixtures/data-plane.ts): the summaries, not retrieval, are under test. With Debian's
// chromium the workflow page's History is opened too; screenshots: test-artifacts/ui-summaries/.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { startBakeoff } from '../../src/client/bakeoff';
import { repoRoot } from '../../src/platform/paths';
import { rollbackSignal } from '../../src/workflows/messages';
import { createFixtureDataPlane, HEALTHY } from '../fixtures/data-plane';
import { BASELINE_HASH, BASELINE_TABLE, bakeoffInput, waitForStatus } from '../workflows/harness';
import { CHROMIUM, haveChromium, launchChromium, startUiRig, type UiRig } from './ui-rig';

const ARTIFACTS = path.join(repoRoot, 'test-artifacts', 'ui-summaries');
const EventType = temporal.api.enums.v1.EventType;
/** A duration as formatDuration writes it: '4s', '1s112ms', '0s'. */
const DUR = String.raw`(?:\d+(?:ms|[dhms]))+`;

let rig: UiRig;

beforeAll(async () => {
  rig = await startUiRig({ name: 'summaries', lanes: ['sum_lane'], dataPlane: (db) => createFixtureDataPlane(db, HEALTHY) });
}, 120_000);

afterAll(async () => {
  await rig?.close();
});

interface Summarized {
  kind: 'activity' | 'timer';
  /** The activity type, or the timer's duration in ms. */
  what: string;
  summary: string | undefined;
}

/** Each ActivityTaskScheduled and TimerStarted event of the history, with its decoded summary. */
function summariesOf(events: temporal.api.history.v1.IHistoryEvent[]): Summarized[] {
  const decode = (e: temporal.api.history.v1.IHistoryEvent): string | undefined => {
    const p = e.userMetadata?.summary;
    return p ? defaultPayloadConverter.fromPayload<string>(p) : undefined;
  };
  const out: Summarized[] = [];
  for (const e of events) {
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      out.push({ kind: 'activity', what: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', summary: decode(e) });
    } else if (e.eventType === EventType.EVENT_TYPE_TIMER_STARTED) {
      const t = e.timerStartedEventAttributes?.startToFireTimeout;
      out.push({ kind: 'timer', what: `${Number(t?.seconds ?? 0) * 1000 + Math.round((t?.nanos ?? 0) / 1e6)}ms`, summary: decode(e) });
    }
  }
  return out;
}

test('every activity and timer of a bakeoff carries a one-line summary of what it does for this bakeoff', async () => {
  const tag = randomBytes(3).toString('hex');
  const workflowId = `bakeoff-summaries-${tag}`;
  const input = bakeoffInput('sum_lane', `v450_s${tag}`, { ramp: [{ percent: 10, soak: '4s' }], checkInterval: '1s', operatorDeadline: '10m' });
  const handle = await startBakeoff(rig.client, input, { taskQueue: rig.taskQueue, workflowId });
  // No traffic: the stage's end cannot prove non-breach and asks an operator (a timer until the deadline).
  const waiting = await waitForStatus(handle, (s) => s.phase === 'awaiting-operator', 90_000);
  await handle.signal(rollbackSignal, { by: 'oncall-summaries', reason: 'summaries test' });
  const result = await handle.result();
  expect(result.outcome).toBe('rolled-back');
  const st = result.status;
  const table = st.shadowTable ?? '(none)';
  const hash8 = (st.configHash ?? '').slice(0, 8);

  const history = await handle.fetchHistory();
  const all = summariesOf(history.events ?? []);
  if (process.env.BAKEOFF_SHOW_SUMMARIES) process.stderr.write(all.map((x) => `${x.kind} ${x.what}: ${x.summary}`).join('\n') + '\n');
  // Every scheduled activity and started timer has one, on one line of at most 160 characters.
  expect(all.filter((x) => x.summary === undefined)).toEqual([]);
  for (const x of all) {
    expect(x.summary).not.toMatch(/\n/);
    expect(x.summary!.length).toBeLessThanOrEqual(160);
  }
  const of = (name: string) => all.filter((x) => x.kind === 'activity' && x.what === name).map((x) => x.summary);
  expect(of('shadowIngest')).toEqual([`shadow ingest of ${st.ingestRunId} into ${table} (config ${hash8})`]);
  expect(of('evaluatePair')).toEqual([`evaluate candidate ${table} vs baseline ${BASELINE_TABLE} on fixture:dev`]);
  expect(of('runProbes')).toEqual([`probe candidate ${table} (config ${hash8})`]);
  expect(of('setTrafficSplit')).toEqual([`set split 10 % → candidate ${table} (stage 1/1)`]);
  expect(of('restoreBaseline')).toEqual([`restore pointer to ${BASELINE_TABLE} (config ${BASELINE_HASH.slice(0, 8)})`]);
  expect(of('evaluate')).toEqual([`smoke eval of baseline ${BASELINE_TABLE} on fixture:dev (first 10 cases)`]);
  expect(of('checkLiveKpis').length).toBeGreaterThan(0);
  for (const s of of('checkLiveKpis')) expect(s).toMatch(new RegExp(`^live check of lane sum_lane: last ${DUR} of live traffic$`));

  // Timers: the soak's (what soaks, what is left, when the next check comes), then the operator's.
  const timers = all.filter((x) => x.kind === 'timer');
  const soakTimers = timers.filter((x) => x.summary!.startsWith('stage 1/1 soak: 10 % for 4s: '));
  expect(soakTimers.length).toBeGreaterThan(0);
  for (const t of soakTimers) expect(t.summary).toMatch(new RegExp(`^stage 1/1 soak: 10 % for 4s: ${DUR} left \\(next check in ${DUR}\\)$`));
  const deadline = new Date(waiting.awaiting!.deadline).toISOString().replace(/\.\d{3}Z$/, 'Z');
  expect(timers.filter((x) => x.summary!.startsWith('waiting for an operator')).map((x) => [x.what, x.summary])).toEqual([
    ['600000ms', `waiting for an operator (approve or abort) until ${deadline}`],
  ]);
  // Nothing but these two kinds of timer.
  expect(timers.length).toBe(soakTimers.length + 1);

  // The workflow page's History shows them on the events.
  if (!haveChromium) {
    process.stderr.write(`\n! test/ui/activity-timer-summaries.test.ts: no chromium at ${CHROMIUM}, the History page was not opened\n\n`);
    return;
  }
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1600, height: 1400 } });
  page.setDefaultTimeout(30_000);
  try {
    await page.goto(`${rig.uiUrl}/namespaces/default/workflows/${workflowId}/${handle.firstExecutionRunId}/history`);
    // Newest first: the rollback's steps and the operator's timer are on the first page of events.
    for (const text of [`restore pointer to ${BASELINE_TABLE}`, `smoke eval of baseline ${BASELINE_TABLE}`, `waiting for an operator (approve or abort) until ${deadline}`]) {
      await page.getByText(text, { exact: false }).first().waitFor();
    }
    await page.getByText(`restore pointer to ${BASELINE_TABLE}`, { exact: false }).first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'history-summaries.png') });
  } catch (err) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'FAILED.png'), fullPage: true }).catch(() => undefined);
    throw err;
  } finally {
    await browser.close();
  }
}, 150_000);
