// The strict exposition parser must itself reject broken input, or a passing /metrics test means nothing.
import { parsePrometheusText, PromParseError } from '../support/prom-text-parser';

const ok = `# HELP a_total Things.
# TYPE a_total counter
a_total{side="baseline",outcome="ok"} 3
a_total{side="candidate",outcome="ok"} 1
# TYPE h histogram
h_bucket{le="0.1"} 1
h_bucket{le="+Inf"} 2
h_sum 0.3
h_count 2
`;

test('parses a well-formed exposition', () => {
  const f = parsePrometheusText(ok);
  expect(f.get('a_total')!.type).toBe('counter');
  expect(f.get('a_total')!.samples).toHaveLength(2);
  expect(f.get('h')!.samples.map((s) => s.name)).toEqual(['h_bucket', 'h_bucket', 'h_sum', 'h_count']);
  expect(parsePrometheusText('x{l="a\\"b\\\\c\\nd"} 1\n').get('x')!.samples[0].labels.l).toBe('a"b\\c\nd');
});

test.each([
  ['a value that is not a number', 'x 1.2.3\n'],
  ['an unterminated label value', 'x{a="b} 1\n'],
  ['a bad escape', 'x{a="\\t"} 1\n'],
  ['a duplicate series', 'x{a="1"} 1\nx{a="1"} 2\n'],
  ['a negative counter', '# TYPE c counter\nc -1\n'],
  ['TYPE after samples', 'x 1\n# TYPE x gauge\n'],
  ['interleaved families', 'x 1\ny 1\nx{a="2"} 1\n'],
  ['an unknown type', '# TYPE x thing\n'],
  ['+Inf bucket ≠ count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
  ['decreasing buckets', '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'],
  ['a bad metric name', '1x 1\n'],
])('rejects %s', (_what, text) => {
  expect(() => parsePrometheusText(text)).toThrow(PromParseError);
});
