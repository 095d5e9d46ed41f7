// The Temporal Web UI as an operator uses it, driven in Debian's chromium by playwright-core:
// find the running bakeoff by its search attributes, open it, read its `status` query, send the
// `rollback` signal from the UI, and see the workflow roll back; then open the bakeoff's HTML report
// from disk and check what it says. Everything is real — a dev server with its embedded UI (our own,
// the suite's shared one is headless), the bakeoff workflow bundle, a worker with the real platform
// activities on PGlite — except the data plane, which is the workflow tests' scripted fixture
// (test/fixtures/data-plane.ts) so that the gates pass and the bakeoff reaches its canary in
// seconds; the UI, not retrieval quality, is under test here. Screenshots: test-artifacts/ui/.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { bakeoffStatus, startBakeoff } from '../../src/client/bakeoff';
import { repoRoot } from '../../src/platform/paths';
import type { BakeoffStatus } from '../../src/workflows/types';
import { createFixtureDataPlane, HEALTHY } from '../fixtures/data-plane';
import { bakeoffInput, HEALTHY_TRAFFIC, writeTraffic } from '../workflows/harness';
import { CHROMIUM, haveChromium, startUiRig, type UiRig } from './ui-rig';

const ARTIFACTS = path.join(repoRoot, 'test-artifacts', 'ui');
const LANE = 'ui_lane';
const OPERATOR = 'oncall-ui';
const REASON = 'rolled back from the Web UI by the browser test';

/** Runs in the page (serialized by playwright); typed here without the DOM lib. */
const backgroundOf = (el: unknown): string =>
  (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor;

if (!haveChromium) {
  process.stderr.write(
    `\n${'!'.repeat(78)}\n! SKIPPED test/ui/web-ui.test.ts: no chromium at ${CHROMIUM}.\n` +
      `! Install it with 'bash scripts/provision/browser.sh' (Debian's chromium) or set BAKEOFF_CHROMIUM.\n${'!'.repeat(78)}\n\n`,
  );
}
const suite = haveChromium ? describe : describe.skip;

suite('Temporal Web UI', () => {
  let rig: UiRig;
  let page: Page;
  let shot = 0;
  /** Notifications the bakeoff sent (logged, no webhook): kept quiet, attached to the artifacts. */
  const notifications: string[] = [];

  async function screenshot(name: string): Promise<void> {
    shot += 1;
    await page.screenshot({ path: path.join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: false });
  }

  /** Fails with the page's accessibility tree and a screenshot, so a UI change is diagnosable from the log. */
  async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      await page.screenshot({ path: path.join(ARTIFACTS, `FAILED-${name}.png`) }).catch(() => undefined);
      const tree = await page.locator('body').ariaSnapshot().catch(() => '(no accessibility tree)');
      throw new Error(`Web UI step "${name}" failed at ${page.url()}: ${(err as Error).message}\n--- accessibility tree ---\n${tree.slice(0, 6000)}`);
    }
  }

  beforeAll(async () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    rig = await startUiRig({
      name: 'ui',
      lanes: [LANE],
      dataPlane: (db) => createFixtureDataPlane(db, HEALTHY),
      reportsDir: true,
      log: (line) => notifications.push(line),
      temporalDbFile: true,
      browser: 'persistent',
    });
    const browser = rig.context!;
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(30_000);
  }, 150_000);

  afterAll(async () => {
    if (notifications.length) fs.writeFileSync(path.join(ARTIFACTS, 'notifications.log'), `${notifications.join('\n')}\n`);
    await rig?.close();
  });

  async function expectEventually(f: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await f().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function waitForStatus(workflowId: string, pred: (s: BakeoffStatus) => boolean, timeoutMs: number, what: string): Promise<BakeoffStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: BakeoffStatus | undefined;
    while (Date.now() < deadline) {
      last = await bakeoffStatus(rig.client, workflowId).catch(() => last);
      if (last && pred(last)) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`bakeoff ${workflowId} did not reach ${what} within ${timeoutMs} ms; last phase ${last?.phase}, events: ${JSON.stringify(last?.events.slice(-4))}`);
  }

  test('find the bakeoff by search attributes, read its status, roll it back from the UI, then read its HTML report', async () => {
    const t0 = Date.now();
    const workflowId = `bakeoff-ui-${randomBytes(4).toString('hex')}`;
    await startBakeoff(
      rig.client,
      bakeoffInput(LANE, 'v450_ui', {
        requestedBy: 'ui-test',
        // Compressed, but long enough that nothing ends on its own while the test clicks.
        ramp: [{ percent: 10, soak: '20m' }, { percent: 50, soak: '20m' }],
        checkInterval: '10s',
      }),
      { taskQueue: rig.taskQueue, workflowId },
    );
    const s0 = await waitForStatus(workflowId, (s) => s.phase === 'canary', 60_000, 'the canary');
    const hash = s0.configHash!;
    // Play the serving path: healthy 5-second KPI windows on both sides around the stage, so the
    // 10-second live checks pass (and the report has a timeline to draw). Busy windows: the live judge
    // passes a check only once non-breach is proven, and a 2-pt quality tolerance needs ~10k requests
    // per side for that (400 per window stays inconclusive, as it should).
    const from = s0.stage!.startedAt - 30_000;
    const busy = { ...HEALTHY_TRAFFIC, samples: 20_000 };
    for (const side of ['baseline', 'candidate'] as const) await writeTraffic(rig.db, LANE, side, from, from + 10 * 60_000, busy, 5_000);

    // 1. The workflows list, filtered by the search attributes the workflow upserts.
    const query = `BakeoffPhase="canary" AND ConfigHash="${hash}"`;
    await step('find by search attributes', async () => {
      await page.goto(`${rig.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
      const link = page.getByRole('link', { name: workflowId, exact: true });
      await link.waitFor({ timeout: 60_000 });
      await screenshot('workflows-by-search-attributes');
      await link.click();
      await page.waitForURL(new RegExp(`/workflows/${workflowId}/`));
      await page.getByRole('button', { name: 'More Actions' }).waitFor();
      await screenshot('workflow-page');
    });

    // 2. The status query, from the Queries tab (the UI lists the workflow's queries from its worker).
    const queried = await step('query status', async () => {
      await page.getByRole('tab', { name: /^Queries/ }).click();
      const queryType = page.getByRole('button', { name: /Query Type|status|__stack_trace/ }).first();
      await queryType.waitFor();
      if ((await queryType.textContent())?.trim() !== 'status') {
        await queryType.click();
        await page.getByRole('option', { name: 'status', exact: true }).click();
      }
      await page.getByRole('button', { name: 'Run Query' }).click();
      const result = page.locator('main').getByRole('textbox').last();
      await expectEventually(async () => (await result.innerText()).includes('"phase"'), 30_000, 'the query result to show the status');
      await screenshot('status-query');
      // The formatted view renders only the lines on screen; unformatted, the answer is one whole line.
      const formatting = page.getByRole('switch', { name: 'JSON Formatting' });
      await page.getByText('JSON Formatting', { exact: true }).click(); // the switch's label (the input itself is visually hidden)
      await expectEventually(async () => !(await formatting.isChecked()), 5_000, 'JSON Formatting to switch off');
      await expectEventually(async () => (await result.innerText()).trim().split('\n').length === 1, 10_000, 'the unformatted query result');
      return JSON.parse((await result.textContent()) ?? '') as BakeoffStatus;
    });
    expect(queried).toMatchObject({ workflowId, phase: 'canary', configHash: hash, lane: LANE, verdict: 'pass' });
    expect(queried.stage).toMatchObject({ index: 0, percent: 10 });
    expect(queried.gates.map((g) => g.name)).toEqual(expect.arrayContaining(['hit_rate', 'f1', 'precision', 'p95_total_ms']));

    // A live check has judged the canary before the operator steps in.
    const checked = await waitForStatus(workflowId, (s) => s.live.checks >= 1, 30_000, 'a first live check');
    expect(checked).toMatchObject({ phase: 'canary', live: { lastVerdict: 'pass' } });

    // 3. The rollback signal, from the workflow page's actions menu.
    await step('send rollback signal', async () => {
      await page.getByRole('button', { name: 'More Actions' }).click();
      await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
      const dialog = page.getByRole('dialog').filter({ hasText: 'Send a Signal' });
      await dialog.waitFor();
      // With a worker polling, the UI offers the workflow's declared signals; without one, a free-text name.
      const picker = dialog.getByRole('button', { name: 'Select a signal' });
      if (await picker.isVisible().catch(() => false)) {
        await picker.click();
        await page.getByRole('option', { name: 'rollback', exact: true }).click();

      } else {
        await dialog.getByRole('textbox').first().fill('rollback');
      }
      await dialog.getByRole('textbox').last().click();
      // insertText, not typing: the JSON editor would auto-close every bracket and quote we type.
      await page.keyboard.insertText(JSON.stringify({ reason: REASON, by: OPERATOR }));
      // Leave the editor first: it reformats on blur, which moves the Submit button under the pointer.
      // (Click plain content: a click on the dialog's title bar closes this dialog.)
      await dialog.getByText('Encoding', { exact: true }).click();
      await dialog.getByRole('button', { name: 'Submit' }).waitFor();
      await screenshot('signal-dialog-filled');
      const sent = page.waitForResponse((r) => r.request().method() === 'POST' && /\/signal\/rollback/.test(r.url()), { timeout: 30_000 });
      await dialog.getByRole('button', { name: 'Submit' }).click();
      const response = await sent;
      if (response.status() !== 200) throw new Error(`the UI's signal request answered ${response.status()}: ${await response.text()}`);
      await dialog.waitFor({ state: 'hidden' });
    });

    // 4. The workflow rolls back (seen through the client), and the UI finds it under its new phase.
    const rolled = await waitForStatus(workflowId, (s) => s.phase === 'rolled-back', 60_000, 'rolled-back');
    expect(rolled.rollback).toMatchObject({ by: OPERATOR, reason: REASON, automatic: false });
    expect(rolled.rollback!.pointerRestoredAt).toBeGreaterThan(0); // the split was undone on the real pointer row
    expect(rolled.events.some((e) => e.kind === 'signal' && e.message.includes(`rollback requested by ${OPERATOR}`))).toBe(true);
    await step('find the rolled-back bakeoff', async () => {
      const q = `BakeoffPhase="rolled-back" AND ConfigHash="${hash}"`;
      await page.goto(`${rig.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(q)}`);
      await page.getByRole('link', { name: workflowId, exact: true }).waitFor({ timeout: 60_000 });
      await screenshot('workflows-rolled-back');
      await page.getByRole('link', { name: workflowId, exact: true }).click();
      await page.getByRole('button', { name: 'More Actions' }).waitFor();
      await page.getByText('Completed', { exact: true }).first().waitFor();
      await screenshot('workflow-completed');
    });

    // 5. The HTML report the workflow's report activity wrote, opened from disk.
    const reportFile = path.join(rig.reportsDir!, `${workflowId}.html`);
    expect(fs.existsSync(reportFile)).toBe(true);
    fs.copyFileSync(reportFile, path.join(ARTIFACTS, 'bakeoff-report.html'));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await step('open the HTML report', async () => {
      await page.goto(`file://${reportFile}`);
      await page.getByRole('heading', { level: 1, name: new RegExp(workflowId) }).waitFor();
      await page.screenshot({ path: path.join(ARTIFACTS, `${String(++shot).padStart(2, '0')}-html-report.png`), fullPage: true });
    });
    expect(await page.locator('[data-phase]').first().textContent()).toBe('rolled-back');
    expect(await page.locator('[data-rollback-by]').textContent()).toBe(OPERATOR);
    expect(await page.locator('[data-rollback-reason]').textContent()).toBe(REASON);
    const gateRows = page.locator('#offline-gates tbody tr');
    expect(await gateRows.count()).toBe(queried.gates.length);
    const hitRow = page.locator('#offline-gates tr[data-gate="hit_rate"]');
    expect(await hitRow.locator('td').allTextContents()).toEqual(['hit_rate', 'offline', '0.63', '0.55', '0.6 … 0.7', 'within-band', 'pass', expect.stringContaining('gain')]);
    // The verdict badge is coloured (a real computed style, not just a class name).
    expect(await hitRow.locator('.verdict').evaluate(backgroundOf)).toBe('rgb(218, 251, 225)');
    expect(await page.locator('#metrics-table tr[data-metric="hit_rate"] td').allTextContents()).toEqual(['hit_rate', '0.550', '0.630', '+8.0 pts']);
    // Stage 1's live KPI windows (written above) are drawn, baseline and candidate.
    expect(await page.locator('#canary-stages tr[data-stage="1"] td').nth(1).textContent()).toBe('10 %');
    expect(await page.locator('#live-checks').textContent()).toMatch(/Live checks: [1-9]\d* \([1-9]\d* pass/);
    const timeline = page.locator('#canary-timeline svg');
    expect(await timeline.count()).toBe(3);
    expect(await page.locator('#canary-timeline svg').first().locator('path.series').count()).toBe(2);
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    process.stderr.write(`[ui] ${Date.now() - t0} ms\n`);
  });
});
