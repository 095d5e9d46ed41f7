// One seeded uniform [0, 1) generator (mulberry32) for everything that must be reproducible: IVF
// training samples, bootstrap resampling, synthetic corpora, chaos kill delays, load generators.
// The same seed gives the same stream everywhere.

// Bound once: inside a vm context (the workflow sandbox, Jest) every lookup of the global `Math` goes
// through the context's interceptor, which made a hot loop of draws ~30x slower.
const imul = Math.imul;

export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box–Muller) from a uniform [0, 1) source such as seededRandom(seed). */
export function gaussianFrom(uniform: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = 1 - uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}
