// An evaluation's manifest and per-case results in the shared artifact store (issue 17 item 3): the
// data worker that ran the evaluation puts them there, so the control worker that writes the report
// (and an operator on any machine with the DATABASE_URL) reads them by hash instead of from a disk
// it does not share. The stored manifest is the local one plus per_case_sha256, the hash of the
// per-case lines.
import type { ArtifactStore } from '../store/artifacts';

export const EVAL_MANIFEST_KIND = 'eval-manifest';
export const EVAL_CASES_KIND = 'eval-cases';

/** Puts the per-case JSON lines, then the manifest naming them by hash; returns both hashes. */
export async function publishEvaluation(artifacts: ArtifactStore, casesJsonl: string, manifest: object): Promise<{ manifestSha256: string; casesSha256: string }> {
  const cases = await artifacts.putBytes(casesJsonl, EVAL_CASES_KIND);
  const stored = await artifacts.putBytes(`${JSON.stringify({ ...manifest, per_case_sha256: cases.hash }, null, 2)}\n`, EVAL_MANIFEST_KIND);
  return { manifestSha256: stored.hash, casesSha256: cases.hash };
}
