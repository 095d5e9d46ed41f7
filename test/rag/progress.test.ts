// The ingest progress printer, writing into an in-memory stream (a real terminal cannot exist in CI).
import { createProgressPrinter, describeProgress } from '../../src/rag/progress';

function capture(isTTY: boolean) {
  const out: string[] = [];
  return { stream: { isTTY, columns: 140, write: (s: string) => out.push(s) }, out };
}

const step = (docsDone: number, chunks: number) => ({ docsDone, docsTotal: 100, chunks, chunksTotal: 400 });

test('describeProgress reports percentage, counts, throughput and ETA', () => {
  expect(describeProgress(step(25, 100), 10_000)).toBe('25.0% 25/100 docs, 100/400 chunks, 10.0 chunks/s, eta 30s');
  expect(describeProgress(step(0, 0), 0)).toBe('0.0% 0/100 docs, 0/400 chunks, 0 chunks/s, eta ?');
  // ETA counts only this attempt's pace when it resumed at 50 docs.
  expect(describeProgress(step(60, 240), 10_000, 50)).toBe('60.0% 60/100 docs, 240/400 chunks, 24.0 chunks/s, eta 40s');
});

test('not a terminal: plain lines, at most one per interval, always the last one', () => {
  let now = 0;
  const { stream, out } = capture(false);
  const p = createProgressPrinter({ stream, intervalMs: 5000, now: () => now, label: 'ingest v1' });
  for (let d = 10; d <= 100; d += 10) {
    now += 1000; // ten updates, one second apart
    p.update(step(d, d * 4));
  }
  p.done();
  expect(out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
  expect(out).toEqual([
    'ingest v1 10.0% 10/100 docs, 40/400 chunks, 40.0 chunks/s, eta 9s\n',
    'ingest v1 60.0% 60/100 docs, 240/400 chunks, 40.0 chunks/s, eta 4s\n',
    'ingest v1 100.0% 100/100 docs, 400/400 chunks, 40.0 chunks/s, eta 0s\n',
    'ingest v1 done: 100/100 docs, 400 chunks in 10s\n',
  ]);
});

test('a terminal: one redrawn bar line per update, then a newline', () => {
  let now = 0;
  const { stream, out } = capture(true);
  const p = createProgressPrinter({ stream, now: () => (now += 500) });
  p.update(step(50, 200));
  p.update(step(100, 400));
  p.done();
  expect(out[0]).toMatch(/^\r\[#{20}\.{20}\] ingest 50\.0% 50\/100 docs/);
  expect(out[0].endsWith('\x1b[K')).toBe(true);
  expect(out[1]).toMatch(/^\r\[#{40}\] ingest 100\.0%/);
  expect(out[2]).toBe('\n');
  expect(out[3]).toMatch(/^ingest done: 100\/100 docs, 400 chunks in \ds\n$/);
});
