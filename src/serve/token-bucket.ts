// Admission control for /search: a token bucket (burst tokens, refilled at perSecond). A request that
// finds the bucket empty is answered 429 with Retry-After at once, before its body is read, so an
// overload costs almost nothing and never queues up work the process cannot finish.
export interface TokenBucketOptions {
  perSecond: number;
  burst: number;
  /** Milliseconds clock (tests pass their own). */
  now?: () => number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(private readonly o: TokenBucketOptions) {
    if (!(o.perSecond > 0) || !Number.isFinite(o.perSecond)) throw new Error(`perSecond must be a positive number, got ${o.perSecond}`);
    if (!Number.isInteger(o.burst) || o.burst < 1) throw new Error(`burst must be a positive integer, got ${o.burst}`);
    this.now = o.now ?? (() => performance.now());
    this.tokens = o.burst;
    this.last = this.now();
  }

  /** Takes a token; returns 0 when admitted, else the milliseconds until one is available. */
  take(): number {
    const t = this.now();
    this.tokens = Math.min(this.o.burst, this.tokens + ((t - this.last) / 1000) * this.o.perSecond);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.o.perSecond) * 1000));
  }

  get available(): number {
    return Math.floor(this.tokens);
  }
}
