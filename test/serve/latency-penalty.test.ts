// The candidate latency penalty (a drill/test knob): its arithmetic, that it is off unless asked for,
// and that the service's environment validates it like every other setting (one line naming the variable).
// The simulated backend (the other drill/test knob): off unless asked for, seeded, and the stated lognormal.
import { backendLatencyDraws, BackendLatencySchema, isActive, penaltyMs, waitPenalty } from '../../src/serve/latency-penalty';
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
  expect(env.BAKEOFF_SERVE_BACKEND_LATENCY_MEDIAN_MS).toBe(0); // the simulated backend is off
  expect(loadServeEnv({ BAKEOFF_SERVE_BACKEND_LATENCY_MEDIAN_MS: '40', BAKEOFF_SERVE_BACKEND_LATENCY_SIGMA: '0.25' })).toMatchObject({ BAKEOFF_SERVE_BACKEND_LATENCY_MEDIAN_MS: 40, BAKEOFF_SERVE_BACKEND_LATENCY_SIGMA: 0.25 });
  expect(() => loadServeEnv({ BAKEOFF_SERVE_BACKEND_LATENCY_SIGMA: '-1' })).toThrow(/BAKEOFF_SERVE_BACKEND_LATENCY_SIGMA/);
});

test('the simulated backend draws the stated lognormal, seeded, and is off unless asked for', () => {
  expect(backendLatencyDraws(undefined)).toBeNull();
  expect(backendLatencyDraws({ medianMs: 0, sigma: 0.5 })).toBeNull();
  const b = { medianMs: 40, sigma: 0.25, seed: 11 };
  const draw = backendLatencyDraws(b)!;
  const logs = Array.from({ length: 20_000 }, () => Math.log(draw()));
  const mean = logs.reduce((a, x) => a + x, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((a, x) => a + (x - mean) ** 2, 0) / (logs.length - 1));
  // 20,000 draws: the standard error of the log-mean is 0.25/√20000 ≈ 0.0018, of the σ ≈ 0.0013.
  expect(Math.abs(Math.exp(mean) - 40)).toBeLessThan(40 * 0.01);
  expect(Math.abs(sd - 0.25)).toBeLessThan(0.008);
  // The same seed, the same waits; another seed, others.
  const again = backendLatencyDraws(b)!;
  const other = backendLatencyDraws({ ...b, seed: 12 })!;
  const first = backendLatencyDraws(b)!();
  expect(again()).toBe(first);
  expect(other()).not.toBe(first);
  expect(BackendLatencySchema.safeParse({ medianMs: 40, sigma: -1 }).success).toBe(false);
  expect(BackendLatencySchema.safeParse({ medianMs: 40, sigma: 0.25, extra: 1 }).success).toBe(false);
});
