// The bound on shadow work (issue 14): at most `limit` mirror computations run at once, and a mirror
// request arriving when all slots are taken is dropped (counted by the caller), never queued — a queue
// would grow without bound under load and its work would compete with served requests for the CPU
// long after they were answered. Served requests never wait on this gate.
// Concurrency alone does not bound the CPU mirror work takes: two slots kept busy by cold searches
// took most of a 2-core machine and made warm served p95 4.4× worse (docs/benchmarks.md). So jobs are
// also rate-limited (a token bucket, default 5 a second): that caps mirror CPU at about rate × the
// cost of a mirror job, whatever the load.
import { TokenBucket } from './token-bucket';

export const DEFAULT_MIRROR_CONCURRENCY = 2;
export const DEFAULT_MIRROR_PER_SECOND = 5;

export class MirrorGate {
  private running = new Set<Promise<void>>();
  private readonly bucket: TokenBucket;

  constructor(
    readonly limit: number = DEFAULT_MIRROR_CONCURRENCY,
    readonly perSecond: number = DEFAULT_MIRROR_PER_SECOND,
  ) {
    if (!Number.isInteger(limit) || limit < 0) throw new Error(`mirror concurrency ${limit} must be an integer ≥ 0`);
    // A burst of at most one second's worth (and never more than the slots).
    this.bucket = new TokenBucket({ perSecond, burst: Math.max(1, Math.min(limit, Math.ceil(perSecond))) });
  }

  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Runs `work` on the next turn of the event loop (after the served response has been written) if a
   * slot is free now; false (dropped) otherwise. `work` must not throw (it records its own failures).
   */
  tryRun(work: () => Promise<void>): boolean {
    if (this.running.size >= this.limit || this.bucket.take() > 0) return false;
    const p = new Promise<void>((resolve) => setImmediate(resolve)).then(work).finally(() => {
      this.running.delete(p);
    });
    this.running.add(p);
    return true;
  }

  /** Waits for the mirror work in flight (graceful shutdown, before the last KPI window is written). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
