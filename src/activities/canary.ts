// The canary check: reads the live_kpis windows that ended since the last check (src/store/live-kpis.ts)
// and judges candidate against baseline with src/workflows/gates.ts. Too few requests on either side
// is an inconclusive check, never a pass. It also returns the span's poolable evidence (exact counts
// and latency histograms of the judged requests) for the live judge (src/workflows/live-judge.ts);
// the old summary fields stay, computed as before, because running bakeoffs replay on them.
import type { Db } from '../platform/db';
import { readLiveEvidence, readLiveKpis } from '../store/live-kpis';
import { readMirrorComparisons } from '../store/mirror-comparisons';
import { judgeLive, overallVerdict } from '../workflows/gates';
import { LiveThresholdsSchema } from '../workflows/messages';
import type { LiveCheckInput, LiveCheckResult } from './types';


export function createCanaryActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    /** Read-only, so safe to retry and to run in a dry run. */
    async checkLiveKpis(input: LiveCheckInput): Promise<LiveCheckResult> {
      // traffic 'mirror' (issue 14): the same gates over shadow traffic, plus the label-free comparisons.
      const traffic = input.traffic ?? 'live';
      const kpis = await readLiveKpis(db, input.lane, new Date(input.fromMs), new Date(input.toMs), traffic);
      const evidence = await readLiveEvidence(db, input.lane, input.fromMs, input.toMs, traffic);
      // Parsed again: a bakeoff started before a threshold existed carries no value for it.
      const thresholds = LiveThresholdsSchema.parse(input.thresholds);
      const gates = judgeLive(kpis.baseline, kpis.candidate, thresholds);
      const result: LiveCheckResult = { fromMs: input.fromMs, toMs: input.toMs, baseline: kpis.baseline, candidate: kpis.candidate, gates, verdict: overallVerdict(gates), evidence };
      if (traffic === 'mirror') result.mirror = await readMirrorComparisons(db, input.lane, input.fromMs, input.toMs);
      return result;
    },
  };
}
