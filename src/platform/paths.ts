// Where bakeoff keeps things. Built tools are cached outside the clone (shared by every checkout,
// so CI's fresh clone reuses them); state (dev-server SQLite, PG cluster, indexes) is per checkout.
import * as os from 'node:os';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const cacheDir = process.env.BAKEOFF_CACHE ?? path.join(os.homedir(), '.cache', 'bakeoff');
export const stateDir = process.env.BAKEOFF_HOME ?? path.join(repoRoot, '.bakeoff');
export const binDir = path.join(cacheDir, 'bin');
/** Laid out for transformers.js: <modelsDir>/<model-name>/{onnx/model_quantized.onnx,tokenizer.json,...}. */
export const modelsDir = process.env.BAKEOFF_MODEL_DIR ?? path.join(cacheDir, 'models');
/** Corpus + labelled cases built from Debian's FAQ docs by scripts/provision/data.sh. */
export const dataDir = process.env.BAKEOFF_DATA_DIR ?? path.join(cacheDir, 'data');
