// The report generator: repetitions of a fault add up into one row, counts and modes are carried,
// and a single lost row shows in the totals (so a clean "0 lost" line in docs/reliability.md is
// computed, not written).
import { aggregateFaults, renderReliabilityReport } from '../../scripts/reliability-report';
import type { FaultRecord, SuiteRecord } from '../support/reliability-record';

const fault = (over: Partial<FaultRecord>): FaultRecord => ({
  fault: 'worker SIGKILL', where: 'ingesting', injected: 1, outcome: 'promoted', lost: 0, duplicated: 0, appliedTwice: 0, checks: 10, checksPassed: 10, ...over,
});

const suite = (over: Partial<SuiteRecord>): SuiteRecord => ({
  suite: 'chaos-worker-kill', mode: 'full', seed: 7, startedAt: '2026-11-22T06:00:00.000Z', durationMs: 61_000, faults: [], inputs: [], measures: [], ...over,
});

test('repetitions of one fault aggregate into one row; distinct outcomes are kept', () => {
  const rows = aggregateFaults([
    suite({ faults: [fault({}), fault({ outcome: 'promoted (killed at +5 ms)' }), fault({ where: 'promoting', checks: 12, checksPassed: 12 })] }),
  ]);
  expect(rows).toHaveLength(2);
  expect(rows[0]).toMatchObject({ where: 'ingesting', injected: 2, checks: 20, passed: 20, outcomes: ['promoted', 'promoted (killed at +5 ms)'] });
  expect(rows[1]).toMatchObject({ where: 'promoting', injected: 1, checks: 12, passed: 12 });
});

test('the document has a row per fault and input class, the modes, and totals that show a loss', () => {
  const md = renderReliabilityReport(
    [
      suite({ faults: [fault({}), fault({ lost: 1, checksPassed: 9 })] }),
      suite({ suite: 'input-documents', mode: 'ci', inputs: [{ inputClass: 'document: binary', tried: 3, outcome: "skipped as 'binary'", rejected: 3, wronglyAccepted: 0, crashes: 0 }] }),
    ],
    new Date('2026-11-22T07:00:00Z'),
  );
  expect(md).toContain('| worker SIGKILL | ingesting | 2 | promoted | 19/20 | 1 | 0 | 0 | full |');
  expect(md).toContain("| document: binary | 3 | skipped as 'binary' | 3 | 0 | 0 | ci |");
  expect(md).toContain('**1 chunk rows lost, 0 duplicated, 0 side effects applied twice**');
  expect(md).toContain('**full** (`BAKEOFF_FULL=1`, local) and **ci**');
  expect(md).toContain('| input-documents | `test/input/hostile-documents.test.ts` | ci |');
});
