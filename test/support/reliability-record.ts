// What the reliability suites (test/chaos, test/input, test/load, test/security) measured, written as
// JSON so scripts/reliability-report.ts can turn a run into docs/reliability.md. Every suite has a
// short CI mode (the default, what `npm test` runs) and a full mode for local runs (BAKEOFF_FULL=1):
// same code, more repetitions and bigger inputs. The mode is written into each record.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stateDir } from '../../src/platform/paths';

/** Kill delays and fuzz choices come from the one seeded generator (mulberry32). */
export { seededRandom } from '../../src/platform/seeded-random';

export type ReliabilityMode = 'ci' | 'full';

export function reliabilityMode(): ReliabilityMode {
  return process.env.BAKEOFF_FULL === '1' ? 'full' : 'ci';
}

/** ci / full pick of a size, so every suite states both numbers in one place. */
export function bySize<T>(ci: T, full: T): T {
  return reliabilityMode() === 'full' ? full : ci;
}

/** The seed of this run's random choices (BAKEOFF_CHAOS_SEED reproduces a run). */
export function chaosSeed(): number {
  const fromEnv = Number(process.env.BAKEOFF_CHAOS_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 20261122;
}

/** One injected fault and what the invariant checks found afterwards. */
export interface FaultRecord {
  fault: string;
  /** Where it was injected (phase, step). */
  where: string;
  injected: number;
  outcome: string;
  /** Chunk rows missing from / repeated in the table, compared with a clean run. */
  lost: number;
  duplicated: number;
  /** Side effects applied more than once (pointer history, backups, archive, audit). */
  appliedTwice: number;
  /** Named invariant checks that ran, and how many passed. */
  checks: number;
  checksPassed: number;
  detail?: string;
}

/** One class of bad input and what became of it. */
export interface InputRecord {
  inputClass: string;
  tried: number;
  /** e.g. 'rejected (ConfigValidationError naming the field)'. */
  outcome: string;
  rejected: number;
  /** Inputs that were accepted although they should not have been (must be 0). */
  wronglyAccepted: number;
  /** Process crashes or unhandled errors (must be 0). */
  crashes: number;
  detail?: string;
}

/** A measured figure (load: throughput, latency; security: what was scanned). */
export interface MeasureRecord {
  name: string;
  value: number | string;
  unit?: string;
  detail?: string;
}

export interface SuiteRecord {
  suite: string;
  mode: ReliabilityMode;
  seed: number;
  startedAt: string;
  durationMs: number;
  faults: FaultRecord[];
  inputs: InputRecord[];
  measures: MeasureRecord[];
}

export function reliabilityDir(): string {
  return process.env.BAKEOFF_RELIABILITY_DIR ?? path.join(stateDir, 'reliability');
}

/** Collects a suite's records and writes <reliabilityDir>/<suite>.json (after every addition, so a
 *  suite that fails half-way still leaves what it measured). */
export class ReliabilityRecorder {
  private readonly t0 = Date.now();
  private readonly record: SuiteRecord;

  constructor(suite: string) {
    this.record = { suite, mode: reliabilityMode(), seed: chaosSeed(), startedAt: new Date().toISOString(), durationMs: 0, faults: [], inputs: [], measures: [] };
  }

  fault(r: FaultRecord): void {
    this.record.faults.push(r);
    this.flush();
  }

  input(r: InputRecord): void {
    this.record.inputs.push(r);
    this.flush();
  }

  measure(r: MeasureRecord): void {
    this.record.measures.push(r);
    this.flush();
  }

  flush(): void {
    this.record.durationMs = Date.now() - this.t0;
    const dir = reliabilityDir();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${this.record.suite}.json`), `${JSON.stringify(this.record, null, 2)}\n`);
  }
}
