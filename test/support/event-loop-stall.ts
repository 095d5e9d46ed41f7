// The longest gap between turns of the event loop while some work runs: a 10 ms interval timer
// records how late each tick came. Used by the tests that move heavy work off the calling thread.
import { performance } from 'node:perf_hooks';

/** The longest gap between turns of the event loop (ms) while `f` ran, and f's result. */
export async function longestStall<T>(f: () => Promise<T>): Promise<{ stallMs: number; result: T }> {
  let last = performance.now();
  let worst = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 10);
  try {
    const result = await f();
    // A stall that lasted until f returned counts too.
    worst = Math.max(worst, performance.now() - last);
    return { stallMs: worst, result };
  } finally {
    clearInterval(tick);
  }
}
