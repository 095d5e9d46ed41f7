// docs/operations.md cannot drift from the code:
// 1. its walkthrough (between <!-- walkthrough:start --> and <!-- walkthrough:end -->) is replayed as one
//    bash script against the real dev server — every ```sh block in order, verbatim, with `set -euo
//    pipefail` — except the blocks marked <!-- replay: provided — why -->, which the rig provides
//    instead (a `bakeoff` from the same sources on PATH, lane `default`, and the worker: real workflow
//    and platform activities, FIXTURE KPIs for ingest/evaluate/probes — see rig.ts for why);
// 2. every `bakeoff`, `temporal` and `tctl` command line in operations.md and runbook.md (code blocks and
//    inline code) names a real subcommand and only options that subcommand has.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';
import { binDir } from '../../src/platform/paths';
import { findTemporalCli } from '../../src/platform/temporal-dev-server';
import { HEALTHY, type FixtureScript } from '../fixtures/data-plane';
import { BASELINE_TABLE } from '../workflows/harness';
import { bakeoffBinDir, run } from '../support/cli';
import { createLane, createOpsRig, pointerActions, pointerState, type OpsRig } from './rig';

const repo = path.resolve(__dirname, '..', '..');
const operationsMd = fs.readFileSync(path.join(repo, 'docs/operations.md'), 'utf8');
const runbookMd = fs.readFileSync(path.join(repo, 'docs/runbook.md'), 'utf8');

interface ShBlock {
  code: string;
  provided: string | null;
}

/** The ```sh blocks of the walkthrough, each with the reason it is provided by the rig (or null). */
export function walkthroughBlocks(md: string): ShBlock[] {
  const start = md.indexOf('<!-- walkthrough:start -->');
  const end = md.indexOf('<!-- walkthrough:end -->');
  if (start < 0 || end < start) throw new Error('docs/operations.md lacks the walkthrough markers');
  const section = md.slice(start, end);
  const blocks: ShBlock[] = [];
  const re = /(?:<!-- replay: provided — ([^\n]*?) -->\n)?```sh\n([\s\S]*?)```/g;
  for (const m of section.matchAll(re)) blocks.push({ code: m[2], provided: m[1] ?? null });
  return blocks;
}

let rig: OpsRig;
beforeAll(async () => {
  rig = await createOpsRig('doc');
});
afterAll(async () => {
  await rig?.close();
});

test('the walkthrough of docs/operations.md runs as written: start, watch, approve, roll back, verify', async () => {
  const blocks = walkthroughBlocks(operationsMd);
  // Exactly these steps are provided by the rig; everything else runs verbatim.
  expect(blocks.filter((b) => b.provided).map((b) => b.code.trim().split('\n')[0])).toEqual([
    'npm run build',
    'bakeoff ingest --baseline --sample 40',
    'bakeoff worker --sample 40',
  ]);
  const script = ['set -euo pipefail', ...blocks.filter((b) => !b.provided).map((b) => b.code)].join('\n');
  expect(script).toContain('bakeoff rollback "$ID"');

  // What the provided steps give: lane `default` with a live baseline, a worker on the queue. Its KPIs
  // are those of a 40-case sample: 10 dev cases, too few to judge (the walkthrough's step 7).
  await createLane(rig.db, 'default');
  const sample: FixtureScript = {
    baseline: { ...HEALTHY.baseline, hit_rate: 0.8, cases: 10 },
    candidate: { ...HEALTHY.candidate, hit_rate: 0.9, cases: 10 },
  };
  await rig.startWorker(sample);

  const env = {
    ...rig.env,
    PATH: `${bakeoffBinDir()}:${process.env.PATH}`,
    TEMPORAL_CLI_ADDRESS: rig.address,
    NO_COLOR: '1',
  };
  const r = await run('bash', ['-c', script], { env, cwd: repo, timeoutMs: 100_000 });
  if (r.code !== 0) process.stderr.write(`--- replay stdout\n${r.stdout}\n--- replay stderr\n${r.stderr}\n`);
  expect(r.code).toBe(0);

  const id = /^(bakeoff-default-[0-9a-f]{16})$/m.exec(r.stdout)?.[1];
  expect(id).toBeDefined();
  expect(r.stdout).toContain(`Temporal running at ${rig.address}`);
  expect(r.stdout).toMatch(/^Phase\s+awaiting-operator$/m);
  expect(r.stdout).toMatch(/^Awaiting\s+offline gates inconclusive: hit_rate inconclusive: only 10 labelled cases \(need 30\)/m);
  expect(r.stdout).toMatch(/^Stage\s+1 of 3 · 10 % of traffic to the candidate · soak 16h · /m);
  expect(r.stdout).toContain(`approve signal sent to ${id} (by oncall-test: walkthrough: judged by hand)`);
  expect(r.stdout).toContain('"phase":"canary"'); // tctl's query output
  expect(r.stdout).toContain(`rollback signal sent to ${id} (by oncall-test: walkthrough: trying the rollback)`);
  expect(r.stdout).toMatch(/^Phase\s+rolled-back$/m);
  // the signal's two times: recorded by the server, applied by the workflow (issue 15 item 3)
  expect(r.stdout).toMatch(/^Rollback\s+requested by oncall-test: signal sent \S+ \S+ UTC, applied \S+ \S+ UTC \(\d+\.\d s later\): walkthrough: trying the rollback · pointer back on the baseline/m);
  expect(r.stdout).toMatch(/^Stage\s+reached 1 of 3 \(10 % of traffic to the candidate\), soak clock stopped · rolled back: no traffic to the candidate now$/m);
  expect(r.stdout).toMatch(/^v\d+\s+restore\s+document_chunks_v512_o0_nodedup\s+—\s+0\s+oncall-test \(rollback\)/m);

  // and the store agrees: the canary ran at 10 %, then the pointer went back to the baseline
  expect(await pointerActions(rig.db, 'default')).toEqual(['init', 'split:10', 'restore', 'cache-clear']);
  expect(await pointerState(rig.db, 'default')).toMatchObject({ live_table: BASELINE_TABLE, candidate_table: null, canary_percent: 0 });
  await rig.stopWorker();
});

// ---------------------------------------------------------------------------------------------
// Every command line in the docs names real subcommands and options.

/** Shell words of one command (quotes respected), up to a pipe, redirect, `&&`, `;` or comment. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) {
    const w = m[3];
    if (w !== undefined && /^(\||>|&&|;|#|\|\|)/.test(w)) break;
    out.push(m[1] ?? m[2] ?? w);
  }
  return out;
}

/** Every command line for `tool` in the markdown: code-block lines and inline `code` spans. */
function commandLines(md: string, tool: string): string[] {
  const lines: string[] = [];
  for (const m of md.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const l of m[1].split('\n')) {
      const t = l.trim().replace(/^[A-Z_]+=\$\((.*)\)$/, '$1').replace(/^[A-Z_]+=\S+\s+/, '');
      if (t.startsWith(`${tool} `)) lines.push(t);
    }
  }
  for (const m of md.matchAll(/`([^`\n]+)`/g)) {
    const t = m[1].trim().replace(/^[A-Z_]+=\S+\s+/, '');
    if (t.startsWith(`${tool} `)) lines.push(t);
  }
  return [...new Set(lines)];
}

function bakeoffProblems(line: string): string[] {
  const program = buildProgram({ io: { out: () => undefined, err: () => undefined, isTTY: false }, env: {}, signal: new AbortController().signal, exitCode: 0 });
  const w = words(line).slice(1);
  let cmd: Command = program;
  for (let next = cmd.commands.find((c) => c.name() === w[0]); next; next = cmd.commands.find((c) => c.name() === w[0])) {
    cmd = next;
    w.shift();
  }
  if (cmd === program) return [`${line}: no such bakeoff command`];
  if (cmd.commands.length > 0) return [`${line}: '${cmd.name()}' needs a subcommand`];
  const known = new Set<string>();
  for (let c: Command | null = cmd; c; c = c.parent) for (const o of c.options) [o.long, o.short].forEach((f) => f && known.add(f));
  return w.filter((x) => x.startsWith('-') && x !== '-' && !known.has(x.split('=')[0])).map((f) => `${line}: unknown option ${f}`);
}

const helpCache = new Map<string, string>();
function helpOf(bin: string, sub: string[], env: NodeJS.ProcessEnv): string {
  const key = `${bin} ${sub.join(' ')}`;
  if (!helpCache.has(key)) {
    const r = spawnSync(bin, [...sub, '--help'], { encoding: 'utf8', env });
    helpCache.set(key, `${r.stdout}\n${r.stderr}`);
  }
  return helpCache.get(key)!;
}

function cliProblems(bin: string, line: string, env: NodeJS.ProcessEnv): string[] {
  const w = words(line).slice(1);
  const sub: string[] = [];
  while (w.length && /^[a-z][a-z-]*$/.test(w[0]) && sub.length < 3) sub.push(w.shift()!);
  // The deepest prefix whose help lists the next word as a command is the subcommand path.
  const help = helpOf(bin, sub, env);
  if (/unknown command|No help topic|Incorrect Usage|command not found/i.test(help)) return [`${line}: unknown subcommand ${sub.join(' ')}`];
  return w
    .filter((x) => x.startsWith('--'))
    .map((x) => x.split('=')[0])
    .filter((flag) => !new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, '\\-')}([\\s,=]|$)`, 'm').test(help))
    .map((flag) => `${line}: ${bin.split('/').pop()} ${sub.join(' ')} has no option ${flag}`);
}

test('every bakeoff / temporal / tctl command line in operations.md and runbook.md exists with those options', () => {
  const docs = `${operationsMd}\n${runbookMd}`;
  const bakeoffLines = commandLines(docs, 'bakeoff');
  const temporalLines = commandLines(docs, 'temporal');
  const tctlLines = commandLines(docs, 'tctl');
  // The docs give every action on every surface: a floor that catches a table lost in an edit.
  expect(bakeoffLines.length).toBeGreaterThanOrEqual(40);
  expect(temporalLines.length).toBeGreaterThanOrEqual(20);
  expect(tctlLines.length).toBeGreaterThanOrEqual(12);
  for (const signal of ['rollback', 'pause', 'resume', 'promote', 'extendSoak', 'approve', 'abort']) {
    expect(temporalLines.some((l) => l.includes(`--name ${signal} `))).toBe(true);
    expect(tctlLines.some((l) => l.includes(`--name ${signal} `))).toBe(true);
  }

  const env = { ...process.env, NO_COLOR: '1' };
  const tctl = process.env.TCTL_CLI ?? path.join(binDir, 'tctl');
  // The checker itself catches a wrong flag on each tool (so an empty list below means something).
  expect(bakeoffProblems('bakeoff rollback ID --reasn x')).toEqual(['bakeoff rollback ID --reasn x: unknown option --reasn']);
  expect(cliProblems(findTemporalCli(), 'temporal workflow signal --workflow_id ID', env)).toHaveLength(1);
  expect(cliProblems(tctl, 'tctl workflow signal --workflow-id ID', env)).toHaveLength(1);
  const problems = [
    ...bakeoffLines.flatMap(bakeoffProblems),
    ...temporalLines.flatMap((l) => cliProblems(findTemporalCli(), l, env)),
    ...tctlLines.flatMap((l) => cliProblems(tctl, l, env)),
  ];
  expect(problems).toEqual([]);
});
