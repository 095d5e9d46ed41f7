// Fingerprints of a corpus snapshot. Each document gets a content hash (sha256 of title and text);
// the snapshot fingerprint is sha256 over the sorted (id, content hash) pairs, so it names the set of
// documents whatever order a source yields them in. A resumable ingest also needs the order (its
// cursor is a position in the document sequence), so the same pass yields a sequence fingerprint.
// Streamed sources feed add() one document at a time; memory is one short line per document.
import { createHash } from 'node:crypto';

export interface CorpusFingerprints {
  /** sha256 over sorted `id \t contentHash` lines: the snapshot, independent of order. */
  snapshot: string;
  /** sha256 over the same lines in input order: what a cursor into this sequence is valid for. */
  sequence: string;
  documents: number;
}

/** sha256 of a document's title and text (text as a string or raw bytes). */
export function documentContentHash(title: string, text: string | Uint8Array): string {
  const h = createHash('sha256').update(title).update('\0');
  h.update(text);
  return h.digest('hex');
}

export class CorpusFingerprinter {
  private readonly lines: string[] = [];
  private readonly sequenceHash = createHash('sha256');
  private count = 0;

  /** sequenceOnly: keep no lines (a second pass that only checks the sequence); digest().snapshot is then ''. */
  constructor(private readonly sequenceOnly = false) {}

  /** One document, in source order. */
  add(id: string, contentHash: string): void {
    const line = `${id}\t${contentHash}\n`;
    if (!this.sequenceOnly) this.lines.push(line);
    this.sequenceHash.update(line);
    this.count++;
  }

  /** One input document ({doc_id, title, text}) as fingerprintDocuments counts it. */
  addDocument(raw: unknown): void {
    const d = (raw ?? {}) as { doc_id?: unknown; title?: unknown; text?: unknown };
    const text = d.text instanceof Uint8Array ? d.text : String(d.text);
    this.add(String(d.doc_id), documentContentHash(typeof d.title === 'string' ? d.title : String(d.title ?? ''), text));
  }

  digest(): CorpusFingerprints {
    const sorted = [...this.lines].sort();
    const snapshot = createHash('sha256');
    for (const line of sorted) snapshot.update(line);
    return { snapshot: this.sequenceOnly ? '' : snapshot.digest('hex'), sequence: this.sequenceHash.copy().digest('hex'), documents: this.count };
  }
}

/**
 * Fingerprints of in-memory input documents ({doc_id, title, text}; the FAQ corpus and ingest's input).
 * Malformed entries still count (as their JSON-ish string form), so a changed bad document changes the sequence.
 */
export function fingerprintDocuments(docs: readonly unknown[]): CorpusFingerprints {
  const f = new CorpusFingerprinter();
  for (const raw of docs) f.addDocument(raw);
  return f.digest();
}
