// Content fingerprints. A document's sha256 covers its id, title, text and metadata (keys sorted, so
// a re-serialised but equal JSON object keeps its hash). The snapshot's sha256 covers the sorted list
// of (id, document sha256): it does not depend on the order a source delivers documents in (a SQL
// query without ORDER BY, a directory listing), and changes when any document is added, removed or
// edited. Memory: one short line per document (id + 64 hex), never the texts.
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level: equal values, equal strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function docSha256(doc: { id: string; title: string; text: string; metadata: Record<string, unknown> }): string {
  return createHash('sha256').update(canonicalJson([doc.id, doc.title, doc.text, doc.metadata])).digest('hex');
}

/** Accumulates the snapshot fingerprint while documents stream past. */
export class SnapshotFingerprint {
  private readonly entries: string[] = [];

  add(id: string, sha256: string): void {
    this.entries.push(`${id}\u0000${sha256}`);
  }

  get count(): number {
    return this.entries.length;
  }

  digest(): string {
    const h = createHash('sha256');
    for (const e of [...this.entries].sort()) h.update(e).update('\n');
    return h.digest('hex');
  }
}
