// runOffThread with the reranker's Newton fit (what trainTableReranker does since issue 17): the
// model is the one the same fit makes in-thread, bit for bit, and the caller's event loop keeps
// turning while it runs; an error thrown there comes back with its name and message.
import { seededRandom } from '../../src/platform/seeded-random';
import { runOffThread } from '../../src/rag/off-thread';
import { trainLogisticReranker, type LogisticModel, type TrainingExample } from '../../src/rag/rerank';
import { FEATURE_NAMES } from '../../src/rag/rerank-features';
import { longestStall } from '../support/event-loop-stall';

const RERANK = require.resolve('../../src/rag/rerank');

/** Seeded examples: label 1 more likely when the first features are high. */
function examples(cases: number, perCase: number, seed: number): TrainingExample[] {
  const r = seededRandom(seed);
  return Array.from({ length: cases }, (_, c) => {
    const features = Array.from({ length: perCase }, () => FEATURE_NAMES.map(() => r()));
    return { case_id: `c${c}`, split: 'train' as const, features, labels: features.map((f) => (f[0] + f[1] + 0.5 * r() > 1.2 ? 1 : 0)) };
  });
}

test('the fit off-thread equals the fit in-thread, and only the in-thread one stalls the caller', async () => {
  // Few rows (cheap to clone across), many forced Newton steps (costly to fit).
  const ex = examples(800, 50, 5);
  const opts = { l2: 1, tolerance: 0, maxIterations: 50 };
  const off = await longestStall(() => runOffThread<LogisticModel>(RERANK, 'trainLogisticReranker', [ex, opts]));
  const inline = await longestStall(async () => trainLogisticReranker(ex, opts));
  expect(off.result).toEqual(inline.result);
  expect(inline.stallMs).toBeGreaterThan(1000);
  expect(off.stallMs).toBeLessThan(500);
}, 300_000);

test('an error thrown on the thread comes back with its name and message', async () => {
  const dev = { ...examples(1, 5, 6)[0], split: 'dev' as const };
  await expect(runOffThread(RERANK, 'trainLogisticReranker', [[dev]])).rejects.toMatchObject({ name: 'TrainingSplitError', message: expect.stringMatching(/train split only/) });
});
