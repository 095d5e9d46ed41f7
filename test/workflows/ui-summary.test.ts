// The Web UI Summary/Details a bakeoff is started with (src/client/ui-summary.ts): one line naming the
// config, lane and requester; details that spell the plan out stage by stage. Pure (no servers).
import { parseBakeoffInput } from '../../src/client/bakeoff';
import { bakeoffUiSummary } from '../../src/client/ui-summary';
import { computeConfigHash } from '../../src/rag/config';
import { bakeoffInput, candidateConfig } from './harness';

const hash12 = (v: string) => computeConfigHash(candidateConfig(v) as unknown as Parameters<typeof computeConfigHash>[0]).slice(0, 12);

test('a canary: summary names config, lane and requester; details give the stages in order', () => {
  const input = parseBakeoffInput(bakeoffInput('sum_lane', 'v450_sum', {
    requestedBy: 'ana',
    ramp: [{ percent: 10, soak: '20m' }, { percent: 50, soak: '1h' }],
    checkInterval: '30s',
    shadow: { soak: '10m', percent: 100 },
  }));
  const s = bakeoffUiSummary(input);
  expect(s.staticSummary).toBe(`Bakeoff of config ${hash12('v450_sum')} (v450_sum) on lane sum_lane, requested by ana`);
  expect(s.staticSummary).not.toContain('\n');
  expect(s.staticDetails.split('\n\n')[0]).toBe('**Plan**: offline gates → shadow 100 % mirrored for 10m → 10 % for 20m → 50 % for 1h → promote');
  expect(s.staticDetails).toContain('live checks every 30s');
});

test('a dry run says so and uses its compressed soak', () => {
  const s = bakeoffUiSummary(parseBakeoffInput(bakeoffInput('sum_lane', 'v450_dry', { dryRun: true, dryRunSoak: '10s', ramp: [{ percent: 10, soak: '2h' }] })));
  expect(s.staticSummary.startsWith('Dry run of config ')).toBe(true);
  expect(s.staticDetails.split('\n\n')[0]).toBe('**Plan**: offline gates → 10 % for 10s → report (the pointer is never touched)');
});
