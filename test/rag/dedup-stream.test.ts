// The streamed near-duplicate filter makes dedupNearDuplicates' decisions (LSH mode) item by item, on
// real prose (Debian's license texts) with seeded copies, edits and empty items; and what it keeps is
// the kept items only (removed items add nothing to its tables).
import * as fs from 'node:fs';
import { seededRandom } from '../../src/platform/seeded-random';
import { dedupNearDuplicates, type DedupItem } from '../../src/rag/dedup';
import { NearDuplicateFilter } from '../../src/rag/dedup-stream';

const PROSE = ['GPL-3', 'Apache-2.0', 'MPL-2.0']
  .map((f) => fs.readFileSync(`/usr/share/common-licenses/${f}`, 'utf8'))
  .join('\n')
  .split(/\s+/)
  .filter(Boolean);

/** Passages, each followed now and then by a near or exact copy of an earlier one (a few words edited). */
function corpus(n: number, seed: number): DedupItem[] {
  const rand = seededRandom(seed);
  const items: DedupItem[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (items.length > 0 && r < 0.3) {
      const words = items[Math.floor(rand() * items.length)].text.split(' ');
      const edits = Math.floor(rand() * 6);
      for (let e = 0; e < edits; e++) words[Math.floor(rand() * words.length)] = `edit${Math.floor(rand() * 1e9)}`;
      items.push({ id: `i${i}`, text: words.join(' ') });
    } else if (r < 0.32) {
      items.push({ id: `i${i}`, text: '   ' }); // no shingles: kept, never a candidate
    } else {
      const len = 40 + Math.floor(rand() * 80);
      const start = Math.floor(rand() * (PROSE.length - len));
      items.push({ id: `i${i}`, text: PROSE.slice(start, start + len).join(' ') });
    }
  }
  return items;
}

test.each([
  [0.8, 1],
  [0.8, 2],
  [0.5, 3],
  [0.95, 4],
])('threshold %p, seed %p: the same items removed as dedupNearDuplicates', (threshold, seed) => {
  const items = corpus(1500, seed);
  const whole = dedupNearDuplicates(items, { threshold });
  const filter = new NearDuplicateFilter({ threshold });
  const removed = items.filter((it) => filter.isDuplicate(it.text)).map((it) => it.id);
  expect(whole.removedIds.length).toBeGreaterThan(50); // the corpus does hold near-duplicates
  expect(removed).toEqual(whole.removedIds);
  expect(filter.rate).toBe(whole.rate);
  expect([filter.bands, filter.rows]).toEqual([whole.bands, whole.rows]);
  expect(filter.comparisons).toBe(whole.comparisons);
  // State is held for kept items with shingles only.
  const empty = items.filter((it) => it.text.trim() === '').length;
  expect(filter.indexed).toBe(whole.keptIds.length - empty);
});

test('a threshold outside (0, 1] is refused', () => {
  expect(() => new NearDuplicateFilter({ threshold: 0 })).toThrow('dedup threshold must be in (0, 1], got 0');
});
