// Drill and test knobs, off by default. Never set them on a service that users depend on.
//
// LatencyPenalty makes the CANDIDATE side of a running service slower on purpose, so an end-to-end
// test or a game day can watch the canary catch a latency regression and roll back. Applied to every
// candidate search that really runs (answer-cache hits stay fast, as a genuinely slower retriever's
// cached answers would): after the search, wait
//   delayMs + (factor − 1) × the time the request has taken so far,
// so factor 1.3 is a 30 % latency penalty.
//
// BackendLatency simulates the backend a real retrieval service waits on (a vector store, a database:
// a few tens of ms, lognormal) on BOTH sides: every search that really runs — served or mirrored,
// baseline or candidate — waits one seeded draw of LogNormal(ln medianMs, sigma) after it ran and
// before any penalty, so the penalty's factor scales it too. The in-process service answers in a few
// ms on a quiet machine, and then a +2 ms latency floor, not the ×1.3, decided a drill; with a stated
// backend the measured latencies are dominated by a known distribution and ×1.3 is +30 % in the
// latency gate's own units (the ratio of geometric means) whatever the machine's speed. A timer, not
// CPU: waits overlap freely, they only need enough request slots (maxInFlight, mirror slots).
import { z } from 'zod';
import { gaussianFrom, seededRandom } from '../platform/seeded-random';

export interface LatencyPenalty {
  /** Fixed extra milliseconds per candidate search. */
  delayMs: number;
  /** Multiplies the candidate's search latency (1 = none). */
  factor: number;
}

export const LatencyPenaltySchema = z.strictObject({
  delayMs: z.number().min(0).max(60_000).default(0),
  factor: z.number().min(1).max(100).default(1),
});

export interface BackendLatency {
  /** Median of the simulated backend wait, ms. */
  medianMs: number;
  /** σ of its natural log (0.6: p95 ≈ 2.7 × the median). */
  sigma: number;
  /** Seed of the draws (src/platform/seeded-random.ts); one stream per service. */
  seed?: number;
}

export const BackendLatencySchema = z.strictObject({
  medianMs: z.number().min(0).max(10_000),
  sigma: z.number().min(0).max(3),
  seed: z.int().min(0).optional(),
});

export function isActive(p: LatencyPenalty | undefined): p is LatencyPenalty {
  return p !== undefined && (p.delayMs > 0 || p.factor > 1);
}

/** Extra wait for a request that has taken `elapsedMs` so far. */
export function penaltyMs(p: LatencyPenalty, elapsedMs: number): number {
  return p.delayMs + (p.factor - 1) * Math.max(0, elapsedMs);
}

export function waitPenalty(p: LatencyPenalty, elapsedMs: number): Promise<void> {
  return waitMs(penaltyMs(p, elapsedMs));
}

/** The backend's waits, ms: seeded lognormal draws (null when the knob is off or its median is 0). */
export function backendLatencyDraws(b: BackendLatency | undefined): (() => number) | null {
  if (!b || !(b.medianMs > 0)) return null;
  const normal = gaussianFrom(seededRandom(b.seed ?? 1));
  return () => b.medianMs * Math.exp(b.sigma * normal());
}

export function waitMs(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
