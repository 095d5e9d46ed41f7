// A BEIR-layout directory: corpus.jsonl ({_id, title, text, metadata?}), queries.jsonl, and
// qrels/<split>.tsv. The corpus streams like any JSONL file; the cases come from cases.ts.
import * as path from 'node:path';
import { readBeirCases, type LabelledCase } from './cases';
import { jsonlDocs } from './jsonl-docs';
import type { CorpusSource, ReadOptions, SourceDoc } from './types';

export class BeirSource implements CorpusSource {
  readonly kind = 'beir' as const;
  readonly location: string;

  constructor(dir: string) {
    this.location = path.resolve(dir);
  }

  get corpusFile(): string {
    return path.join(this.location, 'corpus.jsonl');
  }

  docs(options?: ReadOptions): AsyncIterable<SourceDoc> {
    return jsonlDocs(this.corpusFile, '_id', options);
  }

  cases(options?: ReadOptions): Promise<LabelledCase[]> {
    return readBeirCases(this.location, options);
  }
}
