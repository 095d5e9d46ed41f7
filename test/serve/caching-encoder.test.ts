// The query-embedding cache is kept per side (issue 11 (c)): a question one side has embedded must
// not be a cache hit for the other side, or the side that repeats queries looks faster. The model is
// a counting stand-in (the cache keying is under test, not the model; loading a real ONNX model per
// test would only slow the suite): it returns a vector derived from the text and counts its calls.
import { coldEncoding, EncoderPool, type QueryModel } from '../../src/serve/caching-encoder';

function countingModel(): QueryModel & { calls: number; loads: number } {
  const m = {
    name: 'stand-in',
    modelId: 'stand-in',
    dims: 2,
    calls: 0,
    loads: 0,
    async embedOne(text: string) {
      m.calls++;
      return new Float32Array([text.length, 1]);
    },
  };
  return m;
}

test('each side has its own cache: the same question is a miss on the other side, a hit on its own', async () => {
  const model = countingModel();
  const lookups: boolean[] = [];
  const pool = new EncoderPool(async () => (model.loads++, model), 16, (hit) => lookups.push(hit));
  const baseline = await pool.encoderFor('stand-in', 'docs_v1');
  const candidate = await pool.encoderFor('stand-in', 'docs_v2');
  expect(candidate).not.toBe(baseline);
  expect(await pool.encoderFor('stand-in', 'docs_v1')).toBe(baseline);
  await baseline.embedOne('how do I reset my password');
  await candidate.embedOne('how do I reset my password');
  await baseline.embedOne('how do I reset my password');
  await candidate.embedOne('how do I reset my password');
  // Both sides: one miss, then one hit — the same hit rate for the same traffic.
  expect(lookups).toEqual([false, false, true, true]);
  expect(model.calls).toBe(2);
  // The model is loaded once and shared.
  expect(model.loads).toBe(1);
  expect(candidate.model).toBe(baseline.model);
});

test('clear empties every side', async () => {
  const model = countingModel();
  const pool = new EncoderPool(async () => model, 16);
  const a = await pool.encoderFor('stand-in', 'a');
  const b = await pool.encoderFor('stand-in', 'b');
  await a.embedOne('q');
  await b.embedOne('q');
  await pool.clear();
  await a.embedOne('q');
  await b.embedOne('q');
  expect(model.calls).toBe(4);
});

test('coldEncoding: both sides run the model and nothing is cached, whatever either cache holds', async () => {
  const model = countingModel();
  const lookups: boolean[] = [];
  const pool = new EncoderPool(async () => model, 16, (hit) => lookups.push(hit));
  const served = await pool.encoderFor('stand-in', 'docs_v1');
  const other = await pool.encoderFor('stand-in', 'docs_v2');
  await served.embedOne('q'); // the served request fills its side's cache
  expect(model.calls).toBe(1);
  await coldEncoding(async () => {
    await served.embedOne('q');
    await other.embedOne('q');
  });
  expect(model.calls).toBe(3);
  expect(other.cache.get('q')).toBeUndefined(); // the cold run left nothing behind
  expect(lookups).toEqual([false]); // the cold runs are not cache lookups
});
