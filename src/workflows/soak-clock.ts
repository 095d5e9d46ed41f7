// The soak clock of one canary stage: how much soak time is left, when it ends, when the next live
// check is due. Pure arithmetic over plain data (the data is carried across continue-as-new inside
// the workflow state), given "now" and whether the clock stands still — paused, or an operator is
// deciding. The workflow owns time (Date.now() is workflow time there); this class never reads it.

/** The persisted shape: part of BakeoffState, so plain JSON. */
export interface SoakProgress {
  stageIndex: number;
  /** The split of stageIndex is set and its soak clock runs. */
  started: boolean;
  soakMs: number;
  remainingMs: number;
  /** Time up to which remainingMs is accounted. */
  lastTick: number;
  lastCheckAt: number;
  startedAt: number;
}

export function initialSoak(): SoakProgress {
  return { stageIndex: 0, started: false, soakMs: 0, remainingMs: 0, lastTick: 0, lastCheckAt: 0, startedAt: 0 };
}

export class SoakClock {
  constructor(readonly p: SoakProgress) {}

  /** Starts the soak of the current stage at `now`. */
  start(now: number, soakMs: number): void {
    Object.assign(this.p, { started: true, soakMs, remainingMs: soakMs, lastTick: now, lastCheckAt: now, startedAt: now });
  }

  /** The stage is done: the next one has not started yet. */
  advance(): void {
    this.p.stageIndex += 1;
    this.p.started = false;
  }

  /** Accounts the soak time elapsed since the last tick, unless the clock stood still meanwhile. */
  tick(now: number, stopped: boolean): void {
    if (!this.p.started) return;
    if (!stopped) this.p.remainingMs = Math.max(0, this.p.remainingMs - (now - this.p.lastTick));
    this.p.lastTick = now;
  }

  /** Remaining soak as of `now` without accounting it (queries must not mutate state). */
  remainingAt(now: number, stopped: boolean): number {
    return stopped ? this.p.remainingMs : Math.max(0, this.p.remainingMs - (now - this.p.lastTick));
  }

  /** When the soak ends if nothing changes; null while the clock stands still. */
  endsAt(now: number, stopped: boolean): number | null {
    return stopped ? null : now + this.remainingAt(now, stopped);
  }

  /** The soak has run out (a stopped clock never runs out). Call after tick(). */
  expired(stopped: boolean): boolean {
    return !stopped && this.p.remainingMs <= 0;
  }

  extend(ms: number): void {
    this.p.remainingMs += ms;
  }

  /** After the clock stood still (operator decision): account nothing for the wait. */
  resumeAt(now: number): void {
    this.p.lastTick = now;
  }

  checkDue(now: number, intervalMs: number): boolean {
    return now >= this.p.lastCheckAt + intervalMs;
  }

  /** How long to sleep: until the next check, or the soak's end if sooner (a stopped clock never ends). */
  waitMs(now: number, intervalMs: number, stopped: boolean): number {
    const untilCheck = this.p.lastCheckAt + intervalMs - now;
    return stopped ? untilCheck : Math.min(untilCheck, this.p.remainingMs);
  }

  /** A check judged the span up to `now`. */
  checked(now: number): void {
    this.p.lastCheckAt = now;
  }
}
