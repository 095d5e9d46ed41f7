// The bound on shadow work (issue 14): at most `limit` mirror computations run at once, and a mirror
// request arriving when all slots are taken is dropped (counted by the caller), never queued — a queue
// would grow without bound under load and its work would compete with served requests for the CPU
// long after they were answered. Served requests never wait on this gate.
export class MirrorGate {
  private running = new Set<Promise<void>>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 0) throw new Error(`mirror concurrency ${limit} must be an integer ≥ 0`);
  }

  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Runs `work` on the next turn of the event loop (after the served response has been written) if a
   * slot is free now; false (dropped) otherwise. `work` must not throw (it records its own failures).
   */
  tryRun(work: () => Promise<void>): boolean {
    if (this.running.size >= this.limit) return false;
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
