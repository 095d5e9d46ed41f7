// Sticky canary routing, tested directly on 10 000 keys (the HTTP path is checked against the same
// function in the service tests).
import { fmix32, fnv1a32, routeSide, routingBucket, ROUTING_BUCKETS } from '../../src/serve/routing';

const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

test('FNV-1a matches the published test vectors', () => {
  // http://www.isthe.com/chongo/tech/comp/fnv/ (FNV-1a 32-bit)
  expect(fnv1a32('')).toBe(0x811c9dc5);
  expect(fnv1a32('a')).toBe(0xe40c292c);
  expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  expect(fmix32(0)).toBe(0);
});

test.each([1, 5, 10, 25, 50, 75, 90, 99])('%d %% canary: the candidate share over 10k keys is within ±2 points', (percent) => {
  const candidate = keys.filter((k) => routeSide(k, percent, true) === 'candidate').length;
  expect(Math.abs((candidate / keys.length) * 100 - percent)).toBeLessThanOrEqual(2);
});

test('same key, same side: routing is a pure function of key and percent', () => {
  for (const k of keys.slice(0, 2000)) expect(routeSide(k, 37, true)).toBe(routeSide(k, 37, true));
});

test('raising the percent only moves keys from baseline to candidate', () => {
  const steps = [0, 5, 10, 25, 50, 75, 100];
  for (const k of keys) {
    let wasCandidate = false;
    for (const p of steps) {
      const isCandidate = routeSide(k, p, true) === 'candidate';
      if (wasCandidate) expect(isCandidate).toBe(true);
      wasCandidate = isCandidate;
    }
  }
});

test('0 % and "no candidate" send everything to baseline; 100 % everything to candidate', () => {
  expect(keys.every((k) => routeSide(k, 0, true) === 'baseline')).toBe(true);
  expect(keys.every((k) => routeSide(k, 100, false) === 'baseline')).toBe(true);
  expect(keys.every((k) => routeSide(k, 100, true) === 'candidate')).toBe(true);
});

test('buckets are spread evenly: no decile of [0, 10000) holds more than 11 % of keys', () => {
  const deciles = new Array(10).fill(0);
  for (const k of keys) {
    const b = routingBucket(k);
    expect(b).toBeGreaterThanOrEqual(0);
    expect(b).toBeLessThan(ROUTING_BUCKETS);
    deciles[Math.floor(b / 1000)]++;
  }
  for (const n of deciles) expect(n).toBeLessThan(1100);
});
