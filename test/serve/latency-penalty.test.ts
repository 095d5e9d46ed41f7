// The candidate latency penalty (a drill/test knob): its arithmetic, that it is off unless asked for,
// and that the service's environment validates it like every other setting (one line naming the variable).
import { isActive, penaltyMs, waitPenalty } from '../../src/serve/latency-penalty';
import { loadServeEnv, ServeConfigError } from '../../src/serve/main';

test('factor 1.3 adds 30 % of the time taken so far; a delay adds itself; the defaults add nothing', async () => {
  expect(penaltyMs({ delayMs: 0, factor: 1.3 }, 40)).toBeCloseTo(12, 12);
  expect(penaltyMs({ delayMs: 5, factor: 2 }, 10)).toBeCloseTo(15, 12);
  expect(isActive(undefined)).toBe(false);
  expect(isActive({ delayMs: 0, factor: 1 })).toBe(false);
  expect(isActive({ delayMs: 1, factor: 1 })).toBe(true);
  const t0 = performance.now();
  await waitPenalty({ delayMs: 30, factor: 1 }, 0);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(29);
});

test('the service environment: off by default, validated when set', () => {
  const env = loadServeEnv({});
  expect(env.BAKEOFF_SERVE_CANDIDATE_DELAY_MS).toBe(0);
  expect(env.BAKEOFF_SERVE_CANDIDATE_LATENCY_FACTOR).toBe(1);
  expect(loadServeEnv({ BAKEOFF_SERVE_CANDIDATE_LATENCY_FACTOR: '1.3' }).BAKEOFF_SERVE_CANDIDATE_LATENCY_FACTOR).toBe(1.3);
  expect(() => loadServeEnv({ BAKEOFF_SERVE_CANDIDATE_LATENCY_FACTOR: '0.5' })).toThrow(ServeConfigError);
  expect(() => loadServeEnv({ BAKEOFF_SERVE_CANDIDATE_LATENCY_FACTOR: '0.5' })).toThrow(/BAKEOFF_SERVE_CANDIDATE_LATENCY_FACTOR/);
  expect(() => loadServeEnv({ BAKEOFF_SERVE_CANDIDATE_DELAY_MS: 'slow' })).toThrow(/BAKEOFF_SERVE_CANDIDATE_DELAY_MS must be a number/);
});
