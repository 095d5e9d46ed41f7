// The bound on shadow work (src/serve/mirror-gate.ts): jobs start after the current turn (never inside
// the served request), at most `limit` at once and about `perSecond` a second; the rest are refused
// at once (the caller counts them as dropped), never queued.
import { MirrorGate } from '../../src/serve/mirror-gate';

const tick = () => new Promise<void>((r) => setImmediate(r));

test('concurrency: at most `limit` jobs in flight, the rest refused, and a job never runs in the caller’s turn', async () => {
  const gate = new MirrorGate(2, 1000);
  const release: Array<() => void> = [];
  let started = 0;
  const job = () => {
    started++;
    return new Promise<void>((r) => release.push(r));
  };
  const admitted = Array.from({ length: 10 }, () => gate.tryRun(job));
  expect(admitted.filter(Boolean).length).toBe(2);
  expect(started).toBe(0); // not yet: the served response is written first
  await tick();
  await tick();
  expect(started).toBe(2);
  expect(gate.inFlight).toBe(2);
  release.forEach((r) => r());
  await gate.drain();
  expect(gate.inFlight).toBe(0);
});

test('rate: with free slots, about perSecond jobs a second are admitted', async () => {
  const gate = new MirrorGate(1000, 20);
  const t0 = performance.now();
  let admitted = 0;
  while (performance.now() - t0 < 500) {
    if (gate.tryRun(async () => undefined)) admitted++;
    await new Promise((r) => setTimeout(r, 2));
  }
  await gate.drain();
  // a burst of one second's worth (20) + 20/s × 0.5 s
  expect(admitted).toBeGreaterThanOrEqual(26);
  expect(admitted).toBeLessThanOrEqual(32);
});
