// A drill and test knob, off by default: makes the CANDIDATE side of a running service slower on
// purpose, so an end-to-end test or a game day can watch the canary catch a latency regression and
// roll back. Applied to every candidate search that really runs (answer-cache hits stay fast, as a
// genuinely slower retriever's cached answers would): after the search, wait
//   delayMs + (factor − 1) × the time the request has taken so far,
// so factor 1.3 is a 30 % latency penalty. Never set it on a service that users depend on.
import { z } from 'zod';

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

export function isActive(p: LatencyPenalty | undefined): p is LatencyPenalty {
  return p !== undefined && (p.delayMs > 0 || p.factor > 1);
}

/** Extra wait for a request that has taken `elapsedMs` so far. */
export function penaltyMs(p: LatencyPenalty, elapsedMs: number): number {
  return p.delayMs + (p.factor - 1) * Math.max(0, elapsedMs);
}

export function waitPenalty(p: LatencyPenalty, elapsedMs: number): Promise<void> {
  const wait = penaltyMs(p, elapsedMs);
  return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : Promise.resolve();
}
