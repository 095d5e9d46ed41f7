// Sticky canary routing: a request key (a user, a session) always lands on the same side for a given
// canary percent, and raising the percent only moves keys from baseline to candidate, never back.
// bucket = fmix32(FNV-1a(key)) mod 10000; the key goes to the candidate iff bucket < percent·100.
// FNV-1a alone mixes the low bits of near-identical keys ("user-1", "user-2") poorly, and mod 10000
// reads mostly low bits, so murmur3's 32-bit finaliser spreads them first.
export const ROUTING_BUCKETS = 10_000;

export type Side = 'baseline' | 'candidate';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the key's UTF-8 bytes. */
export function fnv1a32(key: string): number {
  let h = FNV_OFFSET;
  const bytes = Buffer.from(key, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** murmur3's fmix32: every input bit affects every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key's bucket in [0, 10000). */
export function routingBucket(key: string): number {
  return fmix32(fnv1a32(key)) % ROUTING_BUCKETS;
}

/**
 * Which side serves `key` when `canaryPercent` (0..100, fractions allowed) of traffic goes to the
 * candidate. Without a candidate everything is baseline, whatever the percent says.
 */
export function routeSide(key: string, canaryPercent: number, hasCandidate: boolean): Side {
  if (!hasCandidate || !(canaryPercent > 0)) return 'baseline';
  if (canaryPercent >= 100) return 'candidate';
  return routingBucket(key) < Math.round(canaryPercent * (ROUTING_BUCKETS / 100)) ? 'candidate' : 'baseline';
}
