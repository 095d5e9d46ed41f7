// The learned reranker a build published (issue 17 item 3): loaded BY HASH, from the shared artifact
// store through its verified local cache, or — without a store — from the build's own file, checked
// against the hash the pointer names. Missing or corrupt is RerankerUnavailable, one line naming the
// table and the hash: never a silent retrain (which could rank differently from every other replica).
import * as fs from 'node:fs';
import { ArtifactCorrupt, ArtifactMissing, sha256File, type ArtifactStore } from '../store/artifacts';
import { LearnedReranker } from './rerank';
import { rerankerFile, type IndexPointer } from './serving-index';

export class RerankerUnavailable extends Error {
  constructor(
    readonly table: string,
    readonly sha256: string,
    why: string,
  ) {
    super(`the published reranker sha256:${sha256} of ${table} cannot be loaded: ${why}`);
    this.name = 'RerankerUnavailable';
  }
}

/** The pointer's reranker names one for this vector source (builds before issue 17's store name none). */
export function publishedRerankerFor(pointer: IndexPointer | null, source: string): string | null {
  return pointer?.reranker_sha256 && pointer.reranker_source === source ? pointer.reranker_sha256 : null;
}

export async function loadPublishedReranker(o: { pointer: IndexPointer; sha256: string; artifacts?: ArtifactStore; indexDir: string }): Promise<LearnedReranker> {
  const { pointer, sha256 } = o;
  let file: string;
  if (o.artifacts) {
    try {
      file = await o.artifacts.fetch(sha256);
    } catch (err) {
      if (err instanceof ArtifactMissing || err instanceof ArtifactCorrupt) throw new RerankerUnavailable(pointer.table, sha256, err.message);
      throw err;
    }
  } else {
    file = rerankerFile(o.indexDir, pointer.table, pointer.ingest_run_id, pointer.reranker_source ?? '');
    if (!fs.existsSync(file)) throw new RerankerUnavailable(pointer.table, sha256, `no artifact store is configured and ${file} does not exist`);
    const got = await sha256File(file);
    if (got !== sha256) throw new RerankerUnavailable(pointer.table, sha256, `${file} hashes to ${got.slice(0, 16)}…`);
  }
  try {
    return LearnedReranker.load(file);
  } catch (err) {
    throw new RerankerUnavailable(pointer.table, sha256, (err as Error).message);
  }
}
