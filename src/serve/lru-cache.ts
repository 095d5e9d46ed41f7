// A bounded least-recently-used map with hit/miss counters (the serving caches' hit rate comes from
// here). A Map iterates in insertion order, so re-inserting on a hit moves an entry to the back and
// the first key is always the least recently used.
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new Error(`cache capacity must be a non-negative integer, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  set(key: K, value: V): void {
    if (this.capacity === 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  clear(): void {
    this.map.clear();
  }

  hitRate(): number {
    const n = this.hits + this.misses;
    return n === 0 ? 0 : this.hits / n;
  }
}
