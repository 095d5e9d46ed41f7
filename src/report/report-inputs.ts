// Files the reports read beside the database: the nprobe sweep recorded next to an IVF index
// (<indexDir>/<table>/<ingest_run_id>/sweep.json, see src/rag/serving-index.ts) and an evaluation's
// per-case results (the manifest's .cases.jsonl). Both are optional: a missing or unreadable file
// means the report says "not recorded", never that the report fails.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { CaseResult } from '../rag/evaluate';
import type { SweepResult } from '../rag/nprobe-sweep';

const Latency = z.object({ p50Ms: z.number(), p95Ms: z.number(), meanMs: z.number() });
const SweepFile = z.object({
  k: z.number(),
  queries: z.number(),
  ntotal: z.number(),
  dim: z.number(),
  nlist: z.number(),
  targets: z.object({ minOverlap: z.number(), maxP95Ms: z.number().nullable(), minSpeedup: z.number().nullable() }),
  flat: Latency,
  points: z.array(Latency.extend({ nprobe: z.number(), overlapAtK: z.number(), speedupP50: z.number(), speedupP95: z.number(), meetsTargets: z.boolean() })),
  skipped: z.array(z.number()),
  chosen: z.object({ nprobe: z.number(), overlapAtK: z.number(), p95Ms: z.number(), speedupP95: z.number() }).nullable(),
  reason: z.string(),
});

/** The sweep recorded beside an IVF index directory, or null. */
export function readSweepBeside(ivfIndexDir: string | null | undefined): SweepResult | null {
  if (!ivfIndexDir) return null;
  return readSweepFile(path.join(path.dirname(ivfIndexDir), 'sweep.json'));
}

export function readSweepFile(file: string): SweepResult | null {
  try {
    if (!fs.existsSync(file)) return null;
    return parseSweep(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch {
    return null;
  }
}

/** A sweep.json's parsed contents as a SweepResult, or null when it is not one. */
export function parseSweep(raw: unknown): SweepResult | null {
  const parsed = SweepFile.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** Per-case results written beside an evaluation manifest (<label>.cases.jsonl), or null. */
export function readCaseResults(manifestPath: string | null | undefined): CaseResult[] | null {
  if (!manifestPath) return null;
  const file = manifestPath.replace(/\.manifest\.json$/, '.cases.jsonl');
  if (file === manifestPath) return null;
  try {
    if (!fs.existsSync(file)) return null;
    return parseCaseLines(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** The cases of a .cases.jsonl text (lines without a case_id and a numeric hit are skipped); throws on a line that is not JSON. */
export function parseCaseLines(text: string): CaseResult[] {
  const out: CaseResult[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const c = JSON.parse(line) as Partial<CaseResult>;
    if (typeof c.case_id === 'string' && typeof c.hit === 'number') out.push(c as CaseResult);
  }
  return out;
}
