// The one-line summaries of src/workflows/summaries.ts where the bakeoff run of
// test/ui/activity-timer-summaries.test.ts cannot reach: long text, malformed input, an activity
// without a describer. Pure (no servers).
import { activitySummary, oneLine, operatorTimerSummary, soakTimerSummary } from '../../src/workflows/summaries';

test('a long or multi-line text becomes one line of at most 160 characters', () => {
  const long = oneLine(`first line\n${'x'.repeat(300)}`);
  expect(long).not.toContain('\n');
  expect(long).toHaveLength(160);
  expect(long.startsWith('first line x')).toBe(true);
  expect(long.endsWith('…')).toBe(true);
  expect(oneLine('  short\ttext ')).toBe('short text');
});

test('a summary never throws: malformed input or an unknown activity is named as is', () => {
  expect(activitySummary('shadowIngest', undefined)).toBe('shadowIngest');
  expect(activitySummary('someNewActivity', { lane: 'x' })).toBe('someNewActivity');
  expect(activitySummary('notify', { event: 'phase', phase: 'canary', message: 'stage 1/3: 10% for 16h' })).toBe('notify phase → canary: stage 1/3: 10% for 16h');
});

test('timer summaries say what waits and until when', () => {
  expect(soakTimerSummary('stage 1/3 soak: 10 % for 16h', 15 * 3_600_000 + 54 * 60_000, 5 * 60_000)).toBe('stage 1/3 soak: 10 % for 16h: 15h54m left (next check in 5m)');
  expect(operatorTimerSummary(Date.UTC(2026, 11, 6, 19, 58, 21, 500))).toBe('waiting for an operator (approve or abort) until 2026-12-06T19:58:21Z');
});
