// A ChunkStore whose fetchByIds remembers rows: the retriever fetches the ~50 rows of every snapshot
// (embeddings included, parsed from text), and popular chunks come up again and again. Rows of a
// served table do not change while it is served (an ingest writes a new shadow table); a cache-epoch
// bump from the pointer clears the cache anyway.
import type { Db } from '../platform/db';
import { ChunkStore, type StoredChunk } from '../rag/chunk-store';
import { LruCache } from './lru-cache';

export class RowCachingChunkStore extends ChunkStore {
  readonly rows: LruCache<string, StoredChunk>;

  constructor(
    db: Db,
    table: string,
    dims: number,
    capacity: number,
    private readonly onLookup: (hits: number, misses: number) => void = () => undefined,
  ) {
    super(db, table, dims);
    this.rows = new LruCache(capacity);
  }

  override async fetchByIds(ids: readonly string[]): Promise<StoredChunk[]> {
    const found = new Map<string, StoredChunk>();
    const missing: string[] = [];
    for (const id of ids) {
      const row = this.rows.get(id);
      if (row) found.set(id, row);
      else missing.push(id);
    }
    this.onLookup(ids.length - missing.length, missing.length);
    if (missing.length > 0) {
      for (const row of await super.fetchByIds(missing)) {
        found.set(row.chunk_id, row);
        this.rows.set(row.chunk_id, row);
      }
    }
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  clear(): void {
    this.rows.clear();
  }
}
