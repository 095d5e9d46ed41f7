// The significance test behind the live rate gates: the normal tail it rests on, and its answers
// at the corners (rates of 0 and 1, tiny and huge samples).
import fc from 'fast-check';
import { criticalZ, normalCdf, rateBreach } from '../../src/workflows/breach-significance';

test('normal CDF and critical values match the tables', () => {
  expect(normalCdf(0)).toBeCloseTo(0.5, 7);
  expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
  expect(normalCdf(-3.090232)).toBeCloseTo(0.001, 6);
  expect(criticalZ(0.05)).toBeCloseTo(1.644854, 4);
  expect(criticalZ(0.001)).toBeCloseTo(3.090232, 4);
  expect(() => criticalZ(0)).toThrow(/alpha must be in \(0, 0.5\)/);
  expect(() => criticalZ(0.5)).toThrow(RangeError);
});

test('direction: a quality drop and an error-rate rise are harm; the reverse is not', () => {
  const q = rateBreach({ rate: 0.5, n: 10_000 }, { rate: 0.8, n: 10_000 }, 0.02, true, 0.001);
  expect(q).toMatchObject({ significant: true });
  expect(q.harm).toBeCloseTo(0.3, 12);
  expect(rateBreach({ rate: 0.95, n: 10_000 }, { rate: 0.8, n: 10_000 }, 0.02, true, 0.001).significant).toBe(false);
  expect(rateBreach({ rate: 0.3, n: 10_000 }, { rate: 0.01, n: 10_000 }, 0.01, false, 0.001).significant).toBe(true);
  expect(rateBreach({ rate: 0, n: 10_000 }, { rate: 0.3, n: 10_000 }, 0.01, false, 0.001).significant).toBe(false);
});

test('rates of exactly 0 and 1 keep a finite standard error (Agresti–Caffo)', () => {
  const t = rateBreach({ rate: 1, n: 200 }, { rate: 0, n: 200 }, 0.01, false, 0.001);
  expect(Number.isFinite(t.z)).toBe(true);
  expect(t.significant).toBe(true);
  // One request each cannot make anything significant at α 0.001.
  expect(rateBreach({ rate: 1, n: 1 }, { rate: 0, n: 1 }, 0.01, false, 0.001).significant).toBe(false);
});

test('property: more requests never make the same observed breach less significant', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 100_000 }),
      fc.integer({ min: 2, max: 10 }),
      (c, b, n, k) => {
        const small = rateBreach({ rate: c, n }, { rate: b, n }, 0.02, true, 0.01);
        const large = rateBreach({ rate: c, n: n * k }, { rate: b, n: n * k }, 0.02, true, 0.01);
        return !small.significant || large.significant || small.harm <= 0.02;
      },
    ),
  );
});
