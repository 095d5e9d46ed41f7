// τ for a lane: the stored calibration when it was made with the embedder the live side uses, else a
// fresh one on the train split against the live side (the baseline, reranker included), saved for the
// next start. A promotion keeps τ (the same yardstick before and after); a new embedder recalibrates,
// because cosine scales differ between models.
import type { EvalCase } from '../data/dataset';
import { requirePointer } from '../store/pointer';
import type { Db } from '../platform/db';
import { EncoderPool, type QueryModel } from './caching-encoder';
import { calibrateTau, loadTau, saveTau, type TauCalibration } from './quality-tau';
import { loadServingSide } from './serving-side';

export interface LaneTauOptions {
  db: Db;
  lane: string;
  indexDir: string;
  file: string;
  loadEmbedder: (name: string) => Promise<QueryModel>;
  /** Train cases; only needed when there is no usable stored calibration. */
  trainCases: () => Promise<EvalCase[]>;
  log?: (line: string) => void;
}

export async function laneTau(o: LaneTauOptions): Promise<TauCalibration> {
  const pointer = await requirePointer(o.db, o.lane);
  const side = await loadServingSide(
    { table: pointer.liveTable, index: pointer.liveIndex, configHash: pointer.liveConfigHash },
    { db: o.db, indexDir: o.indexDir, encoderFor: (name) => new EncoderPool(o.loadEmbedder, 0).encoderFor(name), rowCacheSize: 0 },
  );
  const stored = loadTau(o.file);
  if (stored && stored.embedder === side.encoder.model.modelId) return stored;
  if (stored) o.log?.(`τ in ${o.file} was calibrated for ${stored.embedder}; the live side uses ${side.encoder.model.modelId}: recalibrating`);
  const cases = (await o.trainCases()).filter((c) => c.split === 'train');
  if (cases.length === 0) throw new Error('no train cases to calibrate τ on: build the dataset (bash scripts/provision/data.sh) or set BAKEOFF_SERVE_TAU');
  o.log?.(`calibrating τ on ${cases.length} train questions against ${pointer.liveTable}`);
  const cal = await calibrateTau({
    retriever: side.retriever,
    cases,
    table: pointer.liveTable,
    ingestRunId: side.fingerprints[0].ingest_run_id,
    embedder: side.encoder.model.modelId,
  });
  saveTau(o.file, cal);
  await side.reranker?.service.close();
  o.log?.(`τ = ${cal.tau.toFixed(4)} (Youden J ${cal.youden_j.toFixed(3)}, TPR ${cal.tpr.toFixed(3)}, FPR ${cal.fpr.toFixed(3)}; ${cal.hits} hits / ${cal.misses} misses) → ${o.file}`);
  return cal;
}
