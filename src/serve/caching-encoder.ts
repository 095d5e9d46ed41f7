// Query embeddings cached by exact text: a repeated question (live traffic repeats a lot) skips the
// model. One cache per model, shared by both sides when they use the same embedder. The cached
// vector is the model's own output for that text (batch of one, as the service always encodes).
import type { QueryEncoder } from '../rag/retrieve';
import { LruCache } from './lru-cache';

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

/** One caching encoder per embedding model, loaded on first use and shared by every side. */
export class EncoderPool {
  private readonly encoders = new Map<string, Promise<CachingEncoder>>();

  constructor(
    private readonly load: (name: string) => Promise<QueryModel>,
    private readonly capacity: number,
    private readonly onLookup?: (hit: boolean) => void,
  ) {}

  encoderFor(name: string): Promise<CachingEncoder> {
    let p = this.encoders.get(name);
    if (!p) {
      p = this.load(name).then((model) => new CachingEncoder(model, this.capacity, this.onLookup));
      p.catch(() => this.encoders.delete(name)); // provisioning the model later must be able to fix it
      this.encoders.set(name, p);
    }
    return p;
  }

  async clear(): Promise<void> {
    for (const p of this.encoders.values()) (await p.catch(() => null))?.clear();
  }
}
