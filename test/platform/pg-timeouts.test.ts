// The pg pool's timeouts: a server that accepts the TCP connection and then never answers (a hung
// PostgreSQL, a half-open proxy) must fail a query within the connect timeout instead of hanging on
// the OS's TCP timeouts. The "server" is a real socket that swallows everything it is sent.
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { openDb, pgTimeouts } from '../../src/platform/db';

test('defaults, environment overrides and a bad value named in one line', () => {
  expect(pgTimeouts({}, {})).toEqual({ connectTimeoutMs: 5_000, statementTimeoutMs: 600_000 });
  expect(pgTimeouts({}, { BAKEOFF_PG_CONNECT_TIMEOUT_MS: '1500', BAKEOFF_PG_STATEMENT_TIMEOUT_MS: '30000' })).toEqual({ connectTimeoutMs: 1_500, statementTimeoutMs: 30_000 });
  expect(pgTimeouts({ connectTimeoutMs: 700 }, { BAKEOFF_PG_CONNECT_TIMEOUT_MS: '1500' }).connectTimeoutMs).toBe(700);
  expect(() => pgTimeouts({}, { BAKEOFF_PG_STATEMENT_TIMEOUT_MS: 'soon' })).toThrow(/^BAKEOFF_PG_STATEMENT_TIMEOUT_MS: must be a whole number of milliseconds/);
});

test('a server that never answers fails the first query within the connect timeout', async () => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as AddressInfo).port;
  const t0 = Date.now();
  try {
    const err = await openDb({ url: `postgres://u@127.0.0.1:${port}/x`, connectTimeoutMs: 800 }).then(
      () => null,
      (e: Error) => e,
    );
    const ms = Date.now() - t0;
    expect(err?.message).toMatch(/timeout/i);
    expect(ms).toBeGreaterThanOrEqual(700);
    expect(ms).toBeLessThan(5_000);
    expect(sockets.length).toBeGreaterThan(0); // it did reach the silent server
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});
