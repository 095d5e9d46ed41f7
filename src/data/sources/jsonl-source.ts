// The JSONL corpus source: one document a line, {"id", "text", "title"?, "metadata"?}.
import * as path from 'node:path';
import { jsonlDocs } from './jsonl-docs';
import type { CorpusSource, ReadOptions, SourceDoc } from './types';

export class JsonlSource implements CorpusSource {
  readonly kind = 'jsonl' as const;
  readonly location: string;

  constructor(file: string) {
    this.location = path.resolve(file);
  }

  docs(options?: ReadOptions): AsyncIterable<SourceDoc> {
    return jsonlDocs(this.location, 'id', options);
  }
}
