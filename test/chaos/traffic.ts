// Plays the serving path's live-KPI recorder for a lane: one live_kpis window per side per tick, the
// rows src/serve's LiveKpiRecorder writes from real requests (test/serve covers that writer against
// the real service). Here the numbers are steady and healthy so a canary verdict depends only on
// whether the data is there — which is what a database fault takes away. Writes that fail (the
// database is down) are counted and skipped, as the real recorder would lose those windows.
import type { Db } from '../../src/platform/db';
import { recordLiveKpiWindow } from '../../src/store/live-kpis';
import { lognormalHistogram } from '../workflows/harness';

export interface TrafficStats {
  windows: number;
  failedWrites: number;
}

export class TrafficPlayer {
  readonly stats: TrafficStats = { windows: 0, failedWrites: 0 };
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private last = Date.now();

  constructor(
    private readonly db: Db,
    private readonly lane: string,
    private readonly o: { tickMs?: number; samplesPerWindow?: number } = {},
  ) {}

  start(): this {
    const tick = this.o.tickMs ?? 500;
    this.last = Date.now();
    this.timer = setInterval(() => void this.write(), tick);
    return this;
  }

  private async write(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const start = new Date(this.last);
    const end = new Date();
    this.last = end.getTime();
    const samples = this.o.samplesPerWindow ?? 200;
    // Poolable evidence as the real recorder writes it (counts + a lognormal latency histogram), the
    // same on both sides: the live judge pools it and, given enough windows, proves non-breach.
    const errors = Math.round(0.002 * samples);
    const evidence = { errors, qualityN: samples - errors, qualityHits: Math.round(0.8 * (samples - errors)), cachedAnswers: 0, latency: lognormalHistogram(samples, 20) };
    try {
      // Served and mirrored: a 100 % stage is judged on the mirrored pairs (patch 'full-stage-mirror').
      for (const traffic of ['live', 'mirror'] as const) {
        for (const side of ['baseline', 'candidate'] as const) {
          await recordLiveKpiWindow(this.db, { lane: this.lane, side, windowStart: start, windowEnd: end, samples, errorRate: 0.002, p95Ms: 20, qualityProxy: 0.8, evidence, traffic });
        }
      }
      this.stats.windows += 1;
    } catch {
      this.stats.failedWrites += 1;
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
