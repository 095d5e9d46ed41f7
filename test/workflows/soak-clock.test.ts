// The soak clock and the phase table are pure: tested here without Temporal.
import { canTransition, TRANSITIONS } from '../../src/workflows/phases';
import { initialSoak, SoakClock } from '../../src/workflows/soak-clock';
import { TERMINAL_PHASES, type Phase } from '../../src/workflows/types';

const M = 60_000;

test('a running clock counts down, a stopped one stands still, and it never goes below zero', () => {
  const c = new SoakClock(initialSoak());
  c.start(1_000, 30 * M);
  c.tick(1_000 + 10 * M, false);
  expect(c.p.remainingMs).toBe(20 * M);
  // Paused for 15 min: nothing is accounted, but the tick moves on.
  c.tick(1_000 + 25 * M, true);
  expect(c.p.remainingMs).toBe(20 * M);
  expect(c.remainingAt(1_000 + 40 * M, true)).toBe(20 * M);
  expect(c.endsAt(1_000 + 40 * M, true)).toBeNull();
  // Running again from the last tick.
  expect(c.remainingAt(1_000 + 30 * M, false)).toBe(15 * M);
  expect(c.endsAt(1_000 + 30 * M, false)).toBe(1_000 + 45 * M);
  expect(c.expired(false)).toBe(false);
  c.tick(1_000 + 99 * M, false);
  expect(c.p.remainingMs).toBe(0);
  expect(c.expired(false)).toBe(true);
  expect(c.expired(true)).toBe(false); // a stopped clock never runs out
});

test('remainingAt reads without mutating; extend adds; resumeAt forgets a wait', () => {
  const c = new SoakClock(initialSoak());
  c.start(0, 10 * M);
  const before = { ...c.p };
  expect(c.remainingAt(4 * M, false)).toBe(6 * M);
  expect(c.p).toEqual(before);
  c.extend(2 * M);
  expect(c.p.remainingMs).toBe(12 * M);
  c.resumeAt(50 * M); // an operator decided for 50 min: the soak does not count it
  c.tick(51 * M, false);
  expect(c.p.remainingMs).toBe(11 * M);
});

test('the wait is the next check or the soak end, whichever is first; a stopped clock waits for the check', () => {
  const c = new SoakClock(initialSoak());
  c.start(0, 12 * M);
  expect(c.waitMs(0, 5 * M, false)).toBe(5 * M);
  expect(c.checkDue(5 * M - 1, 5 * M)).toBe(false);
  expect(c.checkDue(5 * M, 5 * M)).toBe(true);
  c.checked(10 * M);
  c.tick(10 * M, false);
  expect(c.waitMs(10 * M, 5 * M, false)).toBe(2 * M); // soak ends before the next check
  expect(c.waitMs(10 * M, 5 * M, true)).toBe(5 * M);
  c.advance();
  expect(c.p).toMatchObject({ stageIndex: 1, started: false });
  c.tick(20 * M, false); // not started: nothing moves
  expect(c.p.lastTick).toBe(10 * M);
});

test('phase table: terminal phases lead nowhere, every other phase can roll back, rolling-back only ends rolled back', () => {
  const phases = Object.keys(TRANSITIONS) as Phase[];
  for (const p of TERMINAL_PHASES) expect(TRANSITIONS[p]).toEqual([]);
  for (const p of phases.filter((x) => !TERMINAL_PHASES.includes(x) && x !== 'rolling-back')) expect([p, canTransition(p, 'rolling-back')]).toEqual([p, true]);
  expect(TRANSITIONS['rolling-back']).toEqual(['rolled-back']);
  // The main line of docs/workflow.md's diagram, and a few transitions that must be refused.
  const main: Phase[] = ['locking', 'backing-up', 'ingesting', 'evaluating', 'probing', 'gating', 'canary', 'promoting', 'done'];
  for (let i = 1; i < main.length; i++) expect(canTransition(main[i - 1], main[i])).toBe(true);
  expect(canTransition('locking', 'canary')).toBe(false);
  expect(canTransition('canary', 'done')).toBe(false);
  expect(canTransition('rolled-back', 'canary')).toBe(false);
  expect(canTransition('gating', 'promoting')).toBe(false);
});
