// NAME → what the data plane needs from a registered dataset: its documents in the shape ingest takes
// ({doc_id, title, text}), streamed in batches, with the snapshot fingerprint checked against the
// registered one once the last document has been read (a corpus changed since registration fails
// instead of silently being judged as the registered one); and NAME:split → its labelled cases.
import { CorpusFingerprinter } from '../rag/corpus-fingerprint';
import { readManifest, readRegisteredCases, RegistryError } from './registry';
import { parseCaseSetRef } from './registry-ref';
import { sourceFor } from './registry-validate';
import type { LabelledCase } from './sources/cases';
import type { SourceProgress } from './sources/types';

export interface IngestDoc {
  doc_id: string;
  title: string;
  text: string;
}

/**
 * The registered corpus in batches. The final batch is yielded only after the snapshot matched (one
 * document is read ahead to know which batch is final), so a consumer never completes an ingest of a
 * corpus that changed since registration; it fails with the mismatch instead.
 */
export async function* registeredCorpusBatches(home: string, name: string, batchSize = 64, onProgress?: (p: SourceProgress) => void): AsyncGenerator<IngestDoc[]> {
  const manifest = readManifest(home, name);
  const snapshot = new CorpusFingerprinter();
  let batch: IngestDoc[] = [];
  for await (const d of sourceFor(manifest.spec).docs({ onProgress })) {
    snapshot.add(d.id, d.sha256);
    batch.push({ doc_id: d.id, title: d.title, text: d.text });
    if (batch.length === batchSize + 1) {
      yield batch.slice(0, batchSize);
      batch = batch.slice(batchSize);
    }
  }
  const { snapshot: digest, documents } = snapshot.digest();
  if (digest !== manifest.corpus.snapshot_sha256) {
    throw new RegistryError(`dataset ${name}: the corpus changed since registration (snapshot sha256 ${digest}, ${documents} documents; registered ${manifest.corpus.snapshot_sha256}, ${manifest.corpus.docs}); check it with: bakeoff dataset verify ${name}`);
  }
  if (batch.length > 0) yield batch;
}

/** The registered snapshot fingerprint: what a locked config records as the corpus it judged. */
export function registeredSnapshot(home: string, name: string): string {
  return readManifest(home, name).corpus.snapshot_sha256;
}

/** The cases of a registered NAME:split (or NAME:all). */
export function resolveRegisteredCaseSet(home: string, ref: string): LabelledCase[] {
  const { dataset, split, bundled } = parseCaseSetRef(ref);
  if (bundled) throw new RegistryError(`${ref}: the bundled FAQ cases are loaded by src/data/dataset.ts, not the registry`);
  const cases = readRegisteredCases(home, dataset);
  if (split === 'all') return cases;
  const picked = cases.filter((c) => c.split === split);
  if (picked.length === 0) {
    const splits = [...new Set(cases.map((c) => c.split))].sort();
    throw new RegistryError(`case set ${ref}: dataset ${dataset} has no split ${split} (its splits: ${splits.join(', ')}, or all)`);
  }
  return picked;
}
