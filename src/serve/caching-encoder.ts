// Query embeddings cached by exact text: a repeated question (live traffic repeats a lot) skips the
// model. One cache per model AND side (the side's table): a cache shared by both sides would let
// whichever side repeats a question skip the model on text the other side just embedded, so the
// two sides of a canary would see different hit rates and latencies. The model itself is loaded
// once per name and shared. The cached vector is the model's own output for that text (batch of
// one, as the service always encodes).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { QueryEncoder } from '../rag/retrieve';
import { LruCache } from './lru-cache';

// A mirror job compares the two sides on one request, but the served side's cache already holds that
// request's embedding (it was just served) and the other side's does not: timed through the caches, the
// side that served would skip the model and the other would not (measured: a healthy shadow candidate
// read 2.7x slower, 65.8 vs 24.6 ms). Inside `coldEncoding` both sides run the model, neither cache is
// read or written.
const cold = new AsyncLocalStorage<true>();

/** Runs `f` with every CachingEncoder bypassing its cache (the model runs; nothing is cached). */
export function coldEncoding<T>(f: () => Promise<T>): Promise<T> {
  return cold.run(true, f);
}

export interface QueryModel extends QueryEncoder {
  readonly name: string;
  readonly modelId: string;
  readonly dims: number;
}

export class CachingEncoder implements QueryEncoder {
  readonly cache: LruCache<string, Float32Array>;
  /** Same text asked again while its first encoding is still running: share that promise. */
  private readonly pending = new Map<string, Promise<Float32Array>>();

  constructor(
    readonly model: QueryModel,
    capacity: number,
    private readonly onLookup: (hit: boolean) => void = () => undefined,
  ) {
    this.cache = new LruCache(capacity);
  }

  async embedOne(text: string): Promise<Float32Array> {
    if (cold.getStore()) return this.model.embedOne(text);
    const hit = this.cache.get(text);
    if (hit) {
      this.onLookup(true);
      return hit;
    }
    this.onLookup(false);
    let p = this.pending.get(text);
    if (!p) {
      p = this.model.embedOne(text).finally(() => this.pending.delete(text));
      this.pending.set(text, p);
    }
    const v = await p;
    this.cache.set(text, v);
    return v;
  }

  clear(): void {
    this.cache.clear();
  }
}

/**
 * One caching encoder per (embedding model, side): each side gets its own cache of the same
 * capacity, so both sides of a canary see the same hit rate for the same traffic. Models are loaded
 * on first use, once per name.
 */
export class EncoderPool {
  private readonly encoders = new Map<string, Promise<CachingEncoder>>();
  private readonly models = new Map<string, Promise<QueryModel>>();

  constructor(
    private readonly load: (name: string) => Promise<QueryModel>,
    private readonly capacity: number,
    private readonly onLookup?: (hit: boolean) => void,
  ) {}

  /** `side` names whose cache this is (the side's table); one cache per model and side. */
  encoderFor(name: string, side = ''): Promise<CachingEncoder> {
    const key = `${name}\u0000${side}`;
    let p = this.encoders.get(key);
    if (!p) {
      p = this.model(name).then((model) => new CachingEncoder(model, this.capacity, this.onLookup));
      p.catch(() => this.encoders.delete(key)); // provisioning the model later must be able to fix it
      this.encoders.set(key, p);
    }
    return p;
  }

  private model(name: string): Promise<QueryModel> {
    let m = this.models.get(name);
    if (!m) {
      m = this.load(name);
      m.catch(() => this.models.delete(name));
      this.models.set(name, m);
    }
    return m;
  }

  async clear(): Promise<void> {
    for (const p of this.encoders.values()) (await p.catch(() => null))?.clear();
  }
}
