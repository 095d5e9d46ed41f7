// What every corpus source yields and reports. A source streams documents (memory bounded by one
// batch, never the corpus); each document carries where it came from (file:line, or the query row)
// so a problem names a place the user can open, and a sha256 of its content for the fingerprints.

/** One document as a source delivers it. */
export interface SourceDoc {
  id: string;
  title: string;
  text: string;
  metadata: Record<string, unknown>;
  /** file:line (JSONL, BEIR), relative path (tree) or "query row N" (PostgreSQL). */
  at: string;
  /** sha256 of the document's title and text (src/rag/corpus-fingerprint.ts, the hash ingest uses too). */
  sha256: string;
}

/** One thing wrong with the input: one line of output, "<at>: <field>: <message>". */
export interface SourceProblem {
  at: string;
  field: string;
  message: string;
}

export function problemLine(p: SourceProblem): string {
  return `${p.at}: ${p.field}: ${p.message}`;
}

export interface SourceProgress {
  docs: number;
  /** Bytes read so far, and of the whole input when it is known up front (files). */
  bytes: number;
  totalBytes: number | null;
}

export interface ReadOptions {
  /**
   * Receives each bad record (which is then skipped). Without it the first problem throws a
   * SourceError: an ingest must not silently drop documents the registry validated.
   */
  onProblem?: (p: SourceProblem) => void;
  onProgress?: (p: SourceProgress) => void;
}

export interface CorpusSource {
  readonly kind: 'beir' | 'jsonl' | 'dir' | 'pg';
  /** Where the corpus lives, for messages and the manifest. */
  readonly location: string;
  /** The documents in source order, one at a time. */
  docs(options?: ReadOptions): AsyncIterable<SourceDoc>;
}

/** A problem in the input, already one line (file:line field: message). */
export class SourceError extends Error {
  override name = 'SourceError';
  constructor(readonly problem: SourceProblem) {
    super(problemLine(problem));
  }
}

/** Reports a problem to the caller's collector, or throws it when there is none. */
export function report(options: ReadOptions | undefined, p: SourceProblem): void {
  if (options?.onProblem) options.onProblem(p);
  else throw new SourceError(p);
}
