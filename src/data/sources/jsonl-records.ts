// The records of a JSONL file, each validated by a zod schema: what every JSONL reader here (documents,
// extractive cases, BEIR queries) needs before its own rules. Blank lines are skipped; a line that is
// not UTF-8, not JSON or not of the schema is one reported problem naming file:line and the field, and
// reading goes on, so one pass reports every problem.
import type { z } from 'zod';
import { textLines } from './lines';
import { report, type ReadOptions } from './types';

export interface JsonlRecord<T> {
  value: T;
  /** `file:line`. */
  at: string;
  /** 1-based. */
  line: number;
  /** Bytes read from the file so far (for progress). */
  bytesRead: number;
}

/** A required top-level field that is absent (zod words it as a type error). */
export function isMissing(value: unknown, p: readonly PropertyKey[]): boolean {
  return p.length === 1 && typeof value === 'object' && value !== null && !(p[0] in value);
}

export async function* jsonlRecords<T>(file: string, schema: z.ZodType<T>, options?: ReadOptions): AsyncGenerator<JsonlRecord<T>> {
  for await (const line of textLines(file, options)) {
    const at = line.at;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (e) {
      report(options, { at, field: '(line)', message: `not valid JSON (${(e as Error).message})` });
      continue;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      for (const i of parsed.error.issues) report(options, { at, field: i.path.map(String).join('.') || '(line)', message: i.code === 'invalid_type' && isMissing(value, i.path) ? 'missing' : i.message });
      continue;
    }
    yield { value: parsed.data, at, line: line.number, bytesRead: line.bytesRead };
  }
}
