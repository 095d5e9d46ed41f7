// Documents from a JSONL file, one JSON object a line: the JSONL source (`id`, `text`, optional
// `title`, `metadata`) and a BEIR corpus.jsonl (`_id`, `title`, `text`, optional `metadata`) differ
// only in the id field's name. Every bad line is one problem naming file:line and the field.
import * as fs from 'node:fs';
import { z } from 'zod';
import { documentContentHash } from '../../rag/corpus-fingerprint';
import { jsonlRecords } from './jsonl-records';
import { fileSize } from './lines';
import { report, type ReadOptions, type SourceDoc } from './types';

export const MAX_ID_LENGTH = 500;

function docSchema(idField: 'id' | '_id') {
  return z.object({
    [idField]: z.union([z.string(), z.number().int()]).transform(String).pipe(z.string().min(1, 'must not be empty').max(MAX_ID_LENGTH, `longer than ${MAX_ID_LENGTH} characters`)),
    title: z.string().optional(),
    text: z.string().refine((t) => t.trim().length > 0, 'must not be empty'),
    metadata: z.record(z.string(), z.unknown()).optional(),
  });
}

export async function* jsonlDocs(file: string, idField: 'id' | '_id', options?: ReadOptions): AsyncGenerator<SourceDoc> {
  if (!fs.existsSync(file)) {
    report(options, { at: file, field: '(file)', message: 'does not exist' });
    return;
  }
  const schema = docSchema(idField);
  const totalBytes = fileSize(file);
  const firstSeen = new Map<string, number>();
  let docs = 0;
  for await (const rec of jsonlRecords(file, schema, options)) {
    const at = rec.at;
    const d = rec.value as { title?: string; text: string; metadata?: Record<string, unknown> } & Record<string, string>;
    const id = d[idField];
    const first = firstSeen.get(id);
    if (first !== undefined) {
      report(options, { at, field: idField, message: `duplicate id ${JSON.stringify(id)} (first at line ${first})` });
      continue;
    }
    firstSeen.set(id, rec.line);
    const doc = { id, title: d.title ?? '', text: d.text, metadata: d.metadata ?? {} };
    docs++;
    yield { ...doc, at, sha256: documentContentHash(doc.title, doc.text) };
    options?.onProgress?.({ docs, bytes: rec.bytesRead, totalBytes });
  }
  if (docs === 0) report(options, { at: file, field: '(file)', message: 'empty corpus: no documents' });
}
