// Boundaries of the serving entry points: the environment of main.ts and the traffic replayer's
// options are validated with readable messages; the replayer refuses anything but loopback.
import { loadServeEnv, ServeConfigError } from '../../src/serve/main';
import { replayTraffic } from '../../src/serve/traffic';

test('defaults: loopback, port 8088, lane "default", 250 ms polling', () => {
  const env = loadServeEnv({});
  expect(env).toMatchObject({ BAKEOFF_SERVE_HOST: '127.0.0.1', BAKEOFF_SERVE_PORT: 8088, BAKEOFF_LANE: 'default', BAKEOFF_SERVE_POLL_MS: 250 });
  expect(env.DATABASE_URL).toBeUndefined();
  expect(loadServeEnv({ BAKEOFF_SERVE_PORT: '', DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' })).toMatchObject({ BAKEOFF_SERVE_PORT: 8088, DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' });
});

test.each([
  [{ BAKEOFF_SERVE_PORT: 'http' }, /BAKEOFF_SERVE_PORT: BAKEOFF_SERVE_PORT must be a number/],
  [{ BAKEOFF_SERVE_PORT: '70000' }, /at most 65535/],
  [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must be a postgres:\/\/ URL/],
  [{ BAKEOFF_SERVE_HOST: 'example.org' }, /must be an IP address or localhost/],
  [{ BAKEOFF_LANE: 'Prod' }, /BAKEOFF_LANE must be lowercase/],
  [{ BAKEOFF_SERVE_POLL_MS: '5000' }, /BAKEOFF_SERVE_POLL_MS must be at most 1000/],
  [{ BAKEOFF_SERVE_TAU: '2' }, /BAKEOFF_SERVE_TAU/],
])('a bad setting is one readable line: %j', (env, message) => {
  expect(() => loadServeEnv(env)).toThrow(ServeConfigError);
  expect(() => loadServeEnv(env)).toThrow(message);
});

test('the replayer refuses non-loopback targets and unbounded runs', async () => {
  const base = { questions: ['q'], ratePerSecond: 1, maxRequests: 1, maxDurationMs: 1000 };
  await expect(replayTraffic({ ...base, url: 'http://10.0.0.8:8088' })).rejects.toThrow(/loopback/);
  await expect(replayTraffic({ ...base, url: 'https://127.0.0.1:8088' })).rejects.toThrow(/http:/);
  await expect(replayTraffic({ ...base, url: 'http://127.0.0.1:8088', maxRequests: 0 })).rejects.toThrow(/maxRequests/);
  await expect(replayTraffic({ ...base, url: 'http://127.0.0.1:8088', questions: [] })).rejects.toThrow(/at least one question/);
});

test('a refused connection is counted as a failure, not thrown', async () => {
  // Port 9 (discard) on loopback has no listener here: every request fails with status 0.
  const r = await replayTraffic({ url: 'http://127.0.0.1:9', questions: ['q'], ratePerSecond: 50, maxRequests: 3, maxDurationMs: 2000, timeoutMs: 1000 });
  expect(r).toMatchObject({ sent: 3, ok: 0, failed: 3, statusCounts: { 0: 3 } });
});
