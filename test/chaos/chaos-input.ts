// The bakeoff input every chaos scenario starts with. Real thresholds would judge 6 FAQ cases
// inconclusive; these let the real numbers through so a run reaches the canary (the dedup-rate probe
// stays inconclusive on so small a corpus, so an operator approves). Timeouts are compressed the way
// the soaks are: a dead worker's step is retried after seconds, not the production 1 m / 5 m.
import type { BakeoffInputRaw } from '../../src/workflows/messages';
import type { World } from './world';

export interface ChaosInputOptions {
  lane: string;
  chunkVersion: string;
  ramp: { percent: number; soak: string }[];
  checkInterval?: string;
  minSamples?: number;
  dryRun?: boolean;
}

export function chaosInput(world: World, o: ChaosInputOptions): BakeoffInputRaw {
  return {
    candidate: world.candidate(o.chunkVersion),
    baseline: { lane: o.lane },
    evalCases: { ref: 'faq:all', k: 10, smokeCases: 3 },
    thresholds: {
      offline: { minCases: 1, hitRateGainMinPts: -100, hitRateGainMaxPts: 100, f1MinDeltaPts: -100, precisionDriftMaxPts: 100, p95MaxIncreasePct: 1000 },
      live: { minSamples: o.minSamples ?? 50, failureLimit: 1, inconclusiveLimit: 1000 },
    },
    ramp: o.ramp,
    checkInterval: o.checkInterval ?? '1s',
    operatorDeadline: '1h',
    dryRun: o.dryRun ?? false,
    dryRunSoak: '2s',
    timeouts: { step: '5s', heartbeat: '10s' },
    requestedBy: 'chaos',
  };
}
