// Documents from a PostgreSQL query over the team's own table, read through a server-side cursor
// (DECLARE … CURSOR in a READ ONLY transaction, FETCH in batches: memory bounded by one batch). No
// pg-cursor package: the project's `pg` client and plain SQL do the same without another dependency.
// The query must name columns `id` and `text`; `title` is optional; every other column goes into
// metadata. The DSN's password is never stored: libpq's PGPASSWORD or ~/.pgpass supply it.
import { Client } from 'pg';
import { documentContentHash } from '../../rag/corpus-fingerprint';
import { report, type CorpusSource, type ReadOptions, type SourceDoc } from './types';

export const PG_FETCH_BATCH = 500;

/** The DSN without its password (what the manifest keeps and messages show). */
export function redactDsn(dsn: string): string {
  try {
    const u = new URL(dsn);
    if (u.password) u.password = '';
    return u.toString();
  } catch {
    return dsn.replace(/(password\s*=\s*)\S+/i, '$1***');
  }
}

export class PgSource implements CorpusSource {
  readonly kind = 'pg' as const;
  readonly location: string;

  constructor(
    readonly dsn: string,
    readonly sql: string,
    readonly batch = PG_FETCH_BATCH,
  ) {
    this.location = `${redactDsn(dsn)} (${sql})`;
  }

  async *docs(options?: ReadOptions): AsyncGenerator<SourceDoc> {
    const client = new Client({ connectionString: this.dsn });
    try {
      await client.connect();
    } catch (e) {
      report(options, { at: redactDsn(this.dsn), field: '--pg', message: `cannot connect (${(e as Error).message})` });
      return;
    }
    const sql = this.sql.trim().replace(/;\s*$/, '');
    try {
      await client.query('BEGIN READ ONLY');
      try {
        await client.query(`DECLARE bakeoff_docs NO SCROLL CURSOR FOR ${sql}`);
      } catch (e) {
        report(options, { at: 'query', field: '--sql', message: (e as Error).message });
        return;
      }
      const seen = new Set<string>();
      let row = 0;
      let docs = 0;
      let bytes = 0;
      for (;;) {
        const r = await client.query(`FETCH ${this.batch} FROM bakeoff_docs`);
        if (row === 0) {
          const names = r.fields.map((f) => f.name);
          const missing = ['id', 'text'].filter((c) => !names.includes(c));
          if (missing.length) {
            report(options, { at: 'query', field: '--sql', message: `the query must return columns id and text (missing ${missing.join(', ')}; it returns ${names.join(', ') || 'no columns'})` });
            return;
          }
        }
        for (const rec of r.rows as Record<string, unknown>[]) {
          row++;
          const at = `query row ${row}`;
          const { id: rawId, title, text, ...metadata } = rec;
          const id = rawId === null || rawId === undefined ? '' : String(rawId);
          if (id === '') {
            report(options, { at, field: 'id', message: 'missing (NULL or empty)' });
            continue;
          }
          if (typeof text !== 'string' || text.trim() === '') {
            report(options, { at, field: 'text', message: `missing or empty (document ${JSON.stringify(id)})` });
            continue;
          }
          if (seen.has(id)) {
            report(options, { at, field: 'id', message: `duplicate id ${JSON.stringify(id)}` });
            continue;
          }
          seen.add(id);
          const doc = { id, title: title === null || title === undefined ? '' : String(title), text, metadata: JSON.parse(JSON.stringify(metadata)) as Record<string, unknown> };
          docs++;
          bytes += Buffer.byteLength(text);
          yield { ...doc, at, sha256: documentContentHash(doc.title, doc.text) };
          options?.onProgress?.({ docs, bytes, totalBytes: null });
        }
        if (r.rows.length < this.batch) break;
      }
      if (docs === 0 && row === 0) report(options, { at: 'query', field: '--sql', message: 'empty corpus: the query returned no rows' });
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
