// What the reports read from the shared artifact store (issue 17 item 3) instead of a local disk: an
// evaluation's per-case results by its manifest's hash, and the nprobe sweep of a table's published
// index build. Unlike the local files (report-inputs.ts), a hash that was recorded but cannot be
// read is not "not recorded": the result carries a one-line problem the report shows.
import { z } from 'zod';
import type { CaseResult } from '../rag/evaluate';
import type { SweepResult } from '../rag/nprobe-sweep';
import { readPublishedIndexPointer } from '../rag/serving-index';
import type { ArtifactStore } from '../store/artifacts';
import { parseCaseLines, parseSweep } from './report-inputs';

/** value null + problem null: nothing was published (the caller may fall back to a local file). */
export interface StoredInput<T> {
  value: T | null;
  problem: string | null;
}

const StoredManifest = z.object({ per_case_sha256: z.string().regex(/^[0-9a-f]{64}$/) });

const oneLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/** The per-case results named by an evaluation manifest in the store. */
export async function readStoredCaseResults(artifacts: ArtifactStore, manifestSha256: string): Promise<StoredInput<CaseResult[]>> {
  let casesSha256: string;
  try {
    const parsed = StoredManifest.safeParse(JSON.parse((await artifacts.readBytes(manifestSha256)).toString('utf8')));
    if (!parsed.success) return { value: null, problem: `evaluation manifest sha256:${manifestSha256} names no per-case results (per_case_sha256)` };
    casesSha256 = parsed.data.per_case_sha256;
  } catch (err) {
    return { value: null, problem: err instanceof SyntaxError ? `evaluation manifest sha256:${manifestSha256} is not JSON` : oneLine(err) };
  }
  try {
    return { value: parseCaseLines((await artifacts.readBytes(casesSha256)).toString('utf8')), problem: null };
  } catch (err) {
    return { value: null, problem: err instanceof SyntaxError ? `per-case results sha256:${casesSha256} are not JSON lines` : oneLine(err) };
  }
}

/**
 * The nprobe sweep of the build published for a table, when that build is the index evaluated (its
 * IVF path; null: any). A different or unpublished build, or one without a sweep, is "nothing".
 */
export async function readPublishedSweep(artifacts: ArtifactStore, table: string, ivfIndex: string | null | undefined): Promise<StoredInput<SweepResult>> {
  try {
    const pointer = await readPublishedIndexPointer(artifacts, table);
    if (!pointer?.sweep_sha256 || (ivfIndex && pointer.ivf !== ivfIndex)) return { value: null, problem: null };
    const sweep = parseSweep(JSON.parse((await artifacts.readBytes(pointer.sweep_sha256)).toString('utf8')));
    return sweep ? { value: sweep, problem: null } : { value: null, problem: `nprobe sweep sha256:${pointer.sweep_sha256} of ${table} is not a sweep result` };
  } catch (err) {
    return { value: null, problem: err instanceof SyntaxError ? `the nprobe sweep published for ${table} is not JSON` : oneLine(err) };
  }
}
