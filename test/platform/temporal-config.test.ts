import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadTemporalSettings } from '../../src/platform/temporal-config';

test('defaults: no address (the demo starts a server), namespace default, task queue bakeoff, no TLS', () => {
  const s = loadTemporalSettings({});
  expect(s).toEqual({ address: undefined, namespace: 'default', taskQueue: 'bakeoff', connection: {} });
});

test('empty variables count as unset; unrelated variables are ignored', () => {
  const s = loadTemporalSettings({ TEMPORAL_ADDRESS: '', PATH: '/bin', TEMPORAL_NAMESPACE: 'prod' });
  expect(s.address).toBeUndefined();
  expect(s.namespace).toBe('prod');
});

test('a malformed address is one readable line naming the variable', () => {
  expect(() => loadTemporalSettings({ TEMPORAL_ADDRESS: 'http://localhost' })).toThrow(ConfigError);
  expect(() => loadTemporalSettings({ TEMPORAL_ADDRESS: 'http://localhost' })).toThrow(/TEMPORAL_ADDRESS: must be host:port/);
});

test('mTLS needs both cert and key; unreadable files are named', () => {
  expect(() => loadTemporalSettings({ TEMPORAL_TLS_CERT_PATH: '/x.pem' })).toThrow(/must be set together/);
  expect(() =>
    loadTemporalSettings({ TEMPORAL_TLS_CERT_PATH: '/nonexistent/c.pem', TEMPORAL_TLS_KEY_PATH: '/nonexistent/k.pem' }),
  ).toThrow(/TEMPORAL_TLS_CERT_PATH: cannot read \/nonexistent\/c.pem/);
});

test('mTLS files and API key are loaded into the connection options', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-'));
  fs.writeFileSync(path.join(dir, 'c.pem'), 'CERT');
  fs.writeFileSync(path.join(dir, 'k.pem'), 'KEY');
  const s = loadTemporalSettings({
    TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
    TEMPORAL_NAMESPACE: 'ns.acct',
    TEMPORAL_TLS_CERT_PATH: path.join(dir, 'c.pem'),
    TEMPORAL_TLS_KEY_PATH: path.join(dir, 'k.pem'),
    TEMPORAL_API_KEY: 'secret-key',
  });
  const tls = s.connection.tls || undefined;
  expect(tls?.clientCertPair?.crt.toString()).toBe('CERT');
  expect(tls?.clientCertPair?.key.toString()).toBe('KEY');
  expect(s.connection.apiKey).toBe('secret-key');
  expect(s.connection.metadata).toEqual({ 'temporal-namespace': 'ns.acct' });
  fs.rmSync(dir, { recursive: true });
});

test('TEMPORAL_TLS=false with an API key is refused unless allowed explicitly; a bad boolean is rejected', () => {
  // The key would travel in clear text: one line naming the variables, and how to allow it.
  let message = '';
  try {
    loadTemporalSettings({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'sekrit-key-123' });
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message.split('\n')).toHaveLength(1);
  expect(message).toMatch(/TEMPORAL_TLS=false.*TEMPORAL_API_KEY.*TEMPORAL_ALLOW_INSECURE_API_KEY=1/);
  expect(message).not.toContain('sekrit-key-123'); // never the key itself
  // Allowed: false, not undefined: the SDK enables TLS by itself for an API key unless told otherwise.
  expect(loadTemporalSettings({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k', TEMPORAL_ALLOW_INSECURE_API_KEY: '1' }).connection.tls).toBe(false);
  expect(() => loadTemporalSettings({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k', TEMPORAL_ALLOW_INSECURE_API_KEY: '0' })).toThrow(/TEMPORAL_ALLOW_INSECURE_API_KEY/);
  // TLS on (explicitly or by default for a key) needs no allowance.
  expect(loadTemporalSettings({ TEMPORAL_API_KEY: 'k' }).connection.tls).toEqual(expect.objectContaining({}));
  expect(() => loadTemporalSettings({ TEMPORAL_TLS: 'maybe' })).toThrow(/TEMPORAL_TLS/);
});
