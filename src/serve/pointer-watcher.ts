// Follows the lane's active pointer without a restart: polls the row every pollMs (250 ms by
// default, on PostgreSQL and PGlite alike — one indexed primary-key read), and on a new version
// loads the sides it names, then swaps ONE immutable ServingState object. A request takes that object
// once and uses nothing else, so it can never see a half-flipped pointer: it is served entirely by the
// version it started with. Sides are cached, so only a table never served before costs a load; until
// it is ready the previous state keeps serving (and /health shows the version gap).
import { readPointer } from '../store/pointer';
import type { PointerState } from '../activities/types';
import type { Queryable } from '../platform/db';
import { loadServingSide, sideKey, type ServingSide, type SideLoaderDeps, type SideSpec } from './serving-side';

export interface ServingState {
  readonly pointer: PointerState;
  readonly baseline: ServingSide;
  /** null when the pointer names no candidate, or its candidate could not be loaded (candidateError). */
  readonly candidate: ServingSide | null;
  readonly candidateError: string | null;
  /** The mirror target (issue 14): answered off the response path, never served; null when none or not loadable (mirrorError). */
  readonly mirror: ServingSide | null;
  readonly mirrorError: string | null;
  /** When this state started serving (ms since epoch). */
  readonly appliedAt: number;
}

export interface WatcherStatus {
  pollMs: number;
  polls: number;
  lastPollAt: string | null;
  lastError: string | null;
  /** Version of the row last read. */
  seenVersion: number | null;
  /** Version of the state being served. */
  appliedVersion: number | null;
  /** Sides in the cache, loaded or loading. */
  cachedSides: string[];
}

/** Loaded sides by key; keeps the last `capacity` used so a rollback finds its baseline warm. */
export class SideCache {
  private readonly sides = new Map<string, Promise<ServingSide>>();

  constructor(
    private readonly deps: SideLoaderDeps,
    private readonly capacity = 4,
  ) {}

  get(spec: SideSpec): Promise<ServingSide> {
    const key = sideKey(spec);
    let p = this.sides.get(key);
    if (p) {
      this.sides.delete(key);
      this.sides.set(key, p);
      return p;
    }
    p = loadServingSide(spec, this.deps);
    // A failed load is forgotten so the next poll tries again (the table may be ready by then).
    p.catch(() => {
      if (this.sides.get(key) === p) this.sides.delete(key);
    });
    this.sides.set(key, p);
    while (this.sides.size > this.capacity) this.sides.delete(this.sides.keys().next().value as string);
    return p;
  }

  keys(): string[] {
    return [...this.sides.keys()];
  }

  /** Every loaded side (for cache clears and shutdown). */
  async loaded(): Promise<ServingSide[]> {
    const settled = await Promise.allSettled(this.sides.values());
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }
}

/** What the watcher needs from the side cache (an interface so the watcher can be tested alone). */
export interface SideSource {
  get(spec: SideSpec): Promise<ServingSide>;
  keys(): string[];
}

export interface PointerWatcherOptions {
  db: Queryable;
  lane: string;
  sides: SideSource;
  pollMs?: number;
  /** How long a failed candidate load waits before the next attempt at the same pointer version. */
  retryMs?: number;
  /** Called after a new state is swapped in (metrics, cache clears). */
  onApply?: (next: ServingState, previous: ServingState | null) => void;
  log?: (line: string) => void;
}

export class PointerWatcher {
  private state: ServingState | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private polling: Promise<void> | null = null;
  /** The version whose sides are loading. Polling goes on meanwhile: a rollback never waits for a slow load. */
  private building: { version: number; promise: Promise<void> } | null = null;
  private retryAfter = 0;
  /** A version whose baseline failed to load: retried after retryMs, not on every poll. */
  private failed: { version: number; until: number } | null = null;
  private readonly info: Omit<WatcherStatus, 'cachedSides'>;

  constructor(private readonly o: PointerWatcherOptions) {
    this.info = { pollMs: o.pollMs ?? 250, polls: 0, lastPollAt: null, lastError: null, seenVersion: null, appliedVersion: null };
  }

  /** The state to serve a request with; null until the lane's first pointer version is loaded. */
  current(): ServingState | null {
    return this.state;
  }

  status(): WatcherStatus {
    return { ...this.info, cachedSides: this.o.sides.keys() };
  }

  /** Reads the pointer once and loads its sides, then keeps polling in the background. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.pollOnce();
    await this.building?.promise;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.polling;
    await this.building?.promise;
  }

  /** One poll, now (tests and start); concurrent callers share the poll in flight. */
  pollOnce(): Promise<void> {
    this.polling ??= this.poll().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.pollOnce().finally(() => this.schedule());
    }, this.info.pollMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    this.info.polls++;
    this.info.lastPollAt = new Date().toISOString();
    let pointer: PointerState | null;
    try {
      pointer = await readPointer(this.o.db, this.o.lane);
    } catch (err) {
      this.info.lastError = `reading the pointer: ${(err as Error).message}`;
      return;
    }
    if (!pointer) {
      this.info.lastError = `lane '${this.o.lane}' has no pointer row yet`;
      return;
    }
    this.info.seenVersion = pointer.version;
    const current = this.state;
    const sameVersion = current !== null && current.pointer.version === pointer.version;
    const retryCandidate = sameVersion && (current.candidateError !== null || current.mirrorError !== null) && Date.now() >= this.retryAfter;
    if (sameVersion && !retryCandidate) {
      if (current.candidateError === null) this.info.lastError = null;
      return;
    }
    if (this.building?.version === pointer.version) return; // already loading this version
    if (this.failed?.version === pointer.version && Date.now() < this.failed.until) return;
    const p = pointer;
    const building = {
      version: p.version,
      promise: this.build(p).then(
        (next) => this.apply(p, next),
        (err: unknown) => {
          // The baseline itself could not be loaded: keep serving the previous state.
          this.failed = { version: p.version, until: Date.now() + (this.o.retryMs ?? 5000) };
          this.info.lastError = `pointer v${p.version} not applied: ${(err as Error).message}`;
          this.o.log?.(this.info.lastError);
        },
      ),
    };
    this.building = building;
    void building.promise.finally(() => {
      if (this.building === building) this.building = null;
    });
  }

  private apply(p: PointerState, next: ServingState): void {
    const current = this.state;
    if (this.stopped && current !== null) return;
    // A newer version got served while this one loaded (a fast rollback overtaking a slow load): keep it.
    if (current !== null && current.pointer.version > p.version) return;
    const sameVersion = current !== null && current.pointer.version === p.version;
    this.state = next;
    this.info.appliedVersion = p.version;
    this.info.lastError = next.candidateError;
    if (next.candidateError || next.mirrorError) this.retryAfter = Date.now() + (this.o.retryMs ?? 5000);
    if (!sameVersion || current?.candidate !== next.candidate || current?.mirror !== next.mirror) this.o.onApply?.(next, current);
    if (!sameVersion) {
      this.o.log?.(
        `pointer v${p.version}: baseline ${p.liveTable}, candidate ${p.candidateTable ?? 'none'} at ${p.canaryPercent} %` +
          (next.candidateError ? ` (candidate not served: ${next.candidateError})` : ''),
      );
    }
  }

  private async build(p: PointerState): Promise<ServingState> {
    const baselineP = this.o.sides.get({ table: p.liveTable, index: p.liveIndex, configHash: p.liveConfigHash });
    const candidateP = p.candidateTable
      ? this.o.sides.get({ table: p.candidateTable, index: p.candidateIndex, configHash: p.candidateConfigHash })
      : null;
    const mirrorP =
      p.mirrorTable && (p.mirrorPercent ?? 0) > 0
        ? this.o.sides.get({ table: p.mirrorTable, index: p.mirrorIndex ?? null, configHash: p.mirrorConfigHash ?? null })
        : null;
    // All loads start before any is awaited; an unhandled rejection of a later one is avoided too.
    const [baseline, candidate, mirror] = await Promise.allSettled([baselineP, candidateP ?? Promise.resolve(null), mirrorP ?? Promise.resolve(null)]);
    if (baseline.status === 'rejected') throw baseline.reason;
    return {
      pointer: p,
      baseline: baseline.value,
      candidate: candidate.status === 'fulfilled' ? candidate.value : null,
      candidateError: candidate.status === 'rejected' ? (candidate.reason as Error).message : null,
      mirror: mirror.status === 'fulfilled' ? mirror.value : null,
      mirrorError: mirror.status === 'rejected' ? (mirror.reason as Error).message : null,
      appliedAt: Date.now(),
    };
  }
}
