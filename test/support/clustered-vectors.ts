// Seeded synthetic embeddings for FAISS tests and benchmarks: unit vectors scattered around random
// cluster centres, which is how real sentence embeddings sit (topics), unlike uniform noise where no
// ANN index can beat a scan. `spread` is the noise norm relative to the unit centre: at 1.0 a point's
// cosine to its centre is about 0.7 and to a clustermate about 0.5.
// Keep clusters well above nlist: when nlist >= clusters, IVF cells line up with the clusters and
// nprobe=1 already finds nearly everything, which says nothing about real corpora.
import { gaussianFrom, seededRandom as mulberry32 } from '../../src/platform/seeded-random';

export interface ClusteredVectorsOptions {
  dim: number;
  clusters: number;
  seed: number;
}

export class ClusteredVectors {
  readonly centres: Float32Array;

  constructor(readonly options: ClusteredVectorsOptions) {
    const random = gaussian(options.seed);
    this.centres = new Float32Array(options.clusters * options.dim);
    for (let c = 0; c < options.clusters; c++) {
      const row = this.centres.subarray(c * options.dim, (c + 1) * options.dim);
      for (let j = 0; j < options.dim; j++) row[j] = random();
      normalise(row);
    }
  }

  /** n unit rows (row-major), each a random centre plus Gaussian noise of norm ≈ spread. */
  sample(n: number, spread: number, seed: number): Float32Array {
    const { dim, clusters } = this.options;
    const random = gaussian(seed);
    const uniform = mulberry32(seed ^ 0x9e3779b9);
    const out = new Float32Array(n * dim);
    const scale = spread / Math.sqrt(dim);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(uniform() * clusters);
      const row = out.subarray(i * dim, (i + 1) * dim);
      for (let j = 0; j < dim; j++) row[j] = this.centres[c * dim + j] + scale * random();
      normalise(row);
    }
    return out;
  }
}

/** Rows normalised in float64 then stored as float32: |‖v‖−1| stays near 1e-7. */
function normalise(row: Float32Array): void {
  let sq = 0;
  for (let j = 0; j < row.length; j++) sq += row[j] * row[j];
  const inv = 1 / Math.sqrt(sq);
  for (let j = 0; j < row.length; j++) row[j] *= inv;
}

/** Standard normal draws (Box–Muller over a seeded uniform). */
function gaussian(seed: number): () => number {
  return gaussianFrom(mulberry32(seed));
}
