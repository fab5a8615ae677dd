import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { call, createUser, startTestHub, type TestHub, waitFor } from '../integration/helpers.js';
import { irisNotebook, publishBody } from '../integration/model-notebooks.js';
import { promoteAndWait } from '../integration/model-promotions.js';
import { registerFlowers } from '../integration/job-notebooks.js';
import { launchBrowser, pageProblems, signIn } from './browser.js';

// Batch scoring as its users meet it in the browser: a team admin, with a
// data set and a promoted model in place, creates a scoring job with the
// Jobs page's second kind of form (identifying columns with personal data
// marked, an output data set, run once now), follows the run on the job's
// page, and finds the predictions in the catalog with where they were made
// from; a member of another team, once granted access, previews them with
// the email hashed; a plain member of the team is not offered the form.
// The API-level flow is tests/src/integration/jobs-scoring.test.ts.

const SLOW = { timeout: 30 * 60_000 };
/** Screenshots for looking at, outside the repository. */
const shots = process.env.ATRIUM_SCREENSHOT_DIR ?? path.join(tmpdir(), 'atrium-jobs-scoring');


async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });
}

describe('batch scoring in the hub’s pages', () => {
  let t: TestHub;
  let browser: Browser;
  let alice: Page;
  let aliceProblems: string[];
  let aliceToken: string;
  let danToken: string;
  let runId = 0;

  before(async () => {
    t = await startTestHub({ models: { reproducibility: { timeoutSeconds: 600 } } });
    aliceToken = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    await createUser(t.hub, 'bob', { teams: [{ team: 'sales-finance', role: 'member' }] });
    danToken = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });

    // The data set to score, with the sender's email as personal data.
    await registerFlowers(t.url, aliceToken);

    // The model, published, through its guardrails and promoted to production.
    const published = await call(t.url, 'POST', '/hub/api/models/sales-finance/iris/versions', { token: aliceToken, body: publishBody(irisNotebook(1)) });
    assert.equal(published.status, 201, published.text);
    const checked = await waitFor(
      'the guardrails',
      async () => {
        const v = (await call(t.url, 'GET', '/hub/api/models/sales-finance/iris/versions/1', { token: aliceToken })).json;
        return v.guardrailStatus !== 'pending' ? v : undefined;
      },
      900_000,
      500,
    );
    assert.equal(checked.guardrailStatus, 'passed', JSON.stringify(checked.guardrails));
    const promoted = await promoteAndWait(t.url, '/hub/api/models/sales-finance/iris', 'production', 1, aliceToken);
    assert.equal(promoted.status, 'promoted', promoted.message);

    browser = await launchBrowser();
    alice = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    aliceProblems = pageProblems(alice);
    await signIn(alice, t.url, 'alice', 'alice-password', '/hub/jobs');
  }, SLOW);
  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  test('a team admin creates a scoring job with the form and follows its run to success', SLOW, async () => {
    await alice.locator('#jobs .empty', { hasText: 'No jobs yet' }).waitFor();
    await alice.click('#new-job-button');
    // The first question: which kind of job. A notebook is the default.
    const kinds = alice.locator('#job-kind');
    await kinds.waitFor();
    assert.match(await kinds.innerText(), /Run a notebook[\s\S]*Score a data set with a model/);
    assert.equal(await alice.isChecked('#kind-notebook'), true);
    assert.equal(await alice.locator('#new-job-form').isVisible(), true);
    assert.equal(await alice.locator('#scoring-form').isVisible(), false);
    await alice.locator('#new-job').screenshot({ path: path.join(shots, 'new-job-choice.png') });

    await alice.click('label[for="kind-scoring"]');
    await alice.locator('#scoring-form').waitFor();
    assert.equal(await alice.locator('#new-job-form').isVisible(), false);
    // The models: each promoted alias with the version it points to.
    const production = alice.locator('#score-model option[value="sales-finance/iris@production"]');
    await production.waitFor({ state: 'attached' });
    assert.equal((await production.innerText()).trim(), 'sales-finance/iris@production (v1)');
    assert.deepEqual(await alice.locator('#score-team option').evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value)), ['sales-finance']);
    await alice.locator('#score-image option[value="datascience"]').waitFor({ state: 'attached' });
    assert.equal(await alice.inputValue('#score-image'), 'datascience', 'the data-science image by default');
    await alice.locator('#score-input option[value="flowers"]').waitFor({ state: 'attached' });
    await alice.locator('#new-job').screenshot({ path: path.join(shots, 'scoring-form-empty.png') });

    // An empty form is refused by the field it is about.
    await alice.fill('#score-name', 'species');
    await alice.click('#create-scoring-job');
    await alice.locator('[data-field~="scoring.model"] .field-error', { hasText: 'Choose the model' }).waitFor();

    await alice.selectOption('#score-model', 'sales-finance/iris@production');
    await alice.selectOption('#score-input', 'flowers');
    // The data set's columns, personal data marked; what the model gets is said as columns are ticked.
    const email = alice.locator('label.column-choice', { has: alice.locator('input[value="email"]') });
    await email.waitFor();
    assert.match(await email.innerText(), /email[\s\S]*personal data \(email\)/);
    assert.equal(await alice.locator('#score-columns input[type=checkbox]').count(), 5);
    assert.match(await alice.locator('[data-field~="scoring.idColumns"]').innerText(), /copied next to each prediction; personal data stays masked for readers without clearance/i);
    assert.match(await alice.locator('#score-input-hint').innerText(), /Owned by sales-finance, classified confidential, version 1/);
    await alice.check('#score-columns input[value="email"]');
    await alice.locator('#score-features', { hasText: 'from the other 4 columns, in this order: sepal_length, sepal_width, petal_length, petal_width' }).waitFor();

    // What the page knows about the output name, it says as it is typed, and refuses by the field.
    await alice.fill('#score-output', 'flowers');
    await alice.locator('#score-output-status.problem', { hasText: 'cannot go into flowers, the data set they are made from' }).waitFor();
    await alice.click('#create-scoring-job');
    const outputError = alice.locator('[data-field~="scoring.output"] .field-error');
    await outputError.waitFor();
    assert.match(await outputError.innerText(), /cannot go into flowers/);
    assert.equal(await alice.locator('#score-output-status').isVisible(), false, 'said once, not twice');
    assert.match(await alice.locator('#scoring-error').innerText(), /Please check “Output data set name” above/);
    // Changing the field takes its error away.
    await alice.fill('#score-output', 'flower-species');
    await outputError.waitFor({ state: 'detached' });
    assert.equal(await alice.locator('#scoring-error').innerText(), '');
    await alice.locator('#score-output-status.ok', { hasText: 'New: flower-species is created in team sales-finance’s catalog on the first run' }).waitFor();

    // The hub's own refusal lands by the field it names, in the form's words.
    await alice.fill('#score-name', 'Flower species');
    await alice.click('#create-scoring-job');
    const nameError = alice.locator('[data-field~="name"] .field-error');
    await nameError.waitFor();
    assert.match(await nameError.innerText(), /^Job name may contain only lower-case letters, digits and dashes/);
    assert.match(await alice.locator('#scoring-error').innerText(), /Please check “Job name” above/);
    await alice.locator('#new-job').screenshot({ path: path.join(shots, 'scoring-form-error.png') });
    await alice.fill('#score-name', 'species');

    // The same schedule preview as the notebook form (a yearly one: no scheduled run during the test).
    await alice.fill('#score-schedule', '0 5 1 1 *');
    await alice.locator('#score-schedule-preview [data-preview="ok"]', { hasText: 'At 05:00' }).waitFor();
    assert.equal(await alice.locator('#score-schedule-preview ol.upcoming li').count(), 5);
    await alice.check('#score-run-now');
    await alice.locator('#new-job').screenshot({ path: path.join(shots, 'scoring-form-filled.png') });
    await Promise.all([alice.waitForURL(/\/hub\/jobs\/sales-finance\/species(\?|$)/), alice.click('#create-scoring-job')]);

    // The job's page says what it does, each name a link, and follows the run.
    await alice.locator('#flash', { hasText: 'Its first run has started' }).waitFor();
    const line = alice.locator('#job-summary #scoring-line');
    await line.waitFor();
    assert.equal((await line.innerText()).trim(), 'Scores flowers with the production version of sales-finance/iris into flower-species.');
    assert.equal(await line.locator('a[data-link="input"]').getAttribute('href'), '/hub/datasets/flowers');
    assert.equal(await line.locator('a[data-link="model"]').getAttribute('href'), '/hub/models/sales-finance/iris');
    assert.equal(await line.locator('a[data-link="output"]').getAttribute('href'), '/hub/datasets/flower-species');
    const summary = await alice.locator('#job-summary').innerText();
    assert.match(summary, /Identifying columns\s+email/);
    assert.doesNotMatch(summary, /Parameters/, 'a scoring job’s parameters are its settings');
    await shot(alice, 'scoring-job-running', true);
    const succeeded = alice.locator('#runs tr[data-run][data-status="succeeded"]');
    await alice.locator('#runs tr[data-run][data-status="succeeded"], #runs tr[data-run][data-status="failed"]').first().waitFor({ timeout: 20 * 60_000 });
    assert.equal(await succeeded.count(), 1, await alice.locator('#runs').innerText());
    runId = Number(await succeeded.getAttribute('data-run'));
    assert.match(await succeeded.locator('.run-message').innerText(), /Scored 3 rows of flowers v1 with sales-finance\/iris v1 \(production\); wrote flower-species v1 \(confidential\)/);
    assert.equal(await succeeded.locator('a.output-link').getAttribute('href'), '/hub/datasets/flower-species');
    await shot(alice, 'scoring-job-succeeded', true);

    // The Jobs list says what the job does.
    await alice.goto(`${t.url}/hub/jobs`);
    const row = alice.locator('tr[data-job="sales-finance/species"]');
    await row.waitFor();
    assert.match(await row.innerText(), /Scores flowers with sales-finance\/iris@production into flower-species/);
    await row.locator('[data-status="succeeded"]').waitFor();
    await shot(alice, 'jobs-list');

    // The run's page: the same sentence, and the way to the output.
    await alice.goto(`${t.url}/hub/jobs/sales-finance/species/runs/${runId}`);
    await alice.locator('#run-summary[data-status="succeeded"]').waitFor();
    assert.match(await alice.locator('#run-summary #scoring-line').innerText(), /Scores flowers with the production version of sales-finance\/iris into flower-species/);
    assert.match(await alice.locator('#run-summary .run-state').innerText(), /wrote flower-species v1 \(confidential\)\. Open the data set flower-species/);
    await alice.locator('#output-files', { hasText: 'predictions.csv' }).waitFor();
    await shot(alice, 'scoring-run-succeeded');
    assert.deepEqual(aliceProblems, []);
  });

  test('the output data set’s page says it was made from the model version on the input version, by the run', async () => {
    assert.ok(runId, 'the scoring run succeeded');
    await Promise.all([alice.waitForURL(/\/hub\/datasets\/flower-species$/), alice.click('#run-summary a.output-link')]);
    const made = alice.locator('tr[data-version="1"] td.lineage');
    await made.waitFor();
    const words = (await made.innerText()).replace(/\s+/g, ' ').trim();
    assert.match(words, /^sales-finance\/iris v1 \(production\) on flowers v1 batch scoring, run \d+ of sales-finance\/species$/);
    assert.equal(await made.locator('a', { hasText: 'sales-finance/iris v1' }).getAttribute('href'), '/hub/models/sales-finance/iris');
    assert.equal(await made.locator('a', { hasText: 'flowers v1' }).getAttribute('href'), '/hub/datasets/flowers');
    assert.equal(await made.locator('a', { hasText: `run ${runId} of sales-finance/species` }).getAttribute('href'), `/hub/jobs/sales-finance/species/runs/${runId}`);
    assert.match(await alice.locator('table thead', { hasText: 'Made from' }).innerText(), /Made from/);
    await shot(alice, 'output-dataset-owner', true);
    assert.deepEqual(aliceProblems, []);
  });

  test('a reader from another team, once granted access, previews the predictions with the email hashed', async () => {
    assert.ok(runId, 'the scoring run succeeded');
    const req = await call(t.url, 'POST', '/hub/api/datasets/flower-species/requests', { token: danToken, body: { purpose: 'Target the campaign by species' } });
    assert.equal(req.status, 201, req.text);
    const approved = await call(t.url, 'POST', `/hub/api/data/requests/${req.json.id}/approve`, { token: aliceToken, body: {} });
    assert.equal(approved.status, 200, approved.text);

    const dan = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    const problems = pageProblems(dan);
    await signIn(dan, t.url, 'dan', 'dan-password', '/hub/datasets/flower-species');
    const table = dan.locator('#preview-table');
    await table.waitFor();
    const heads = await table.locator('thead th').evaluateAll((els) => els.map((e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim()));
    assert.deepEqual(heads, ['email masked', 'prediction']);
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
    assert.equal(rows.length, 3);
    for (const [mail] of rows) assert.match(mail ?? '', /^h_[0-9a-f]{16}$/);
    assert.deepEqual(rows.map((r) => r[1]), ['0', '2', '1'], 'the predictions, in the input’s order');
    assert.match(await dan.locator('#preview-note').innerText(), /Masked for you: email/);
    await shot(dan, 'output-dataset-reader', true);
    assert.deepEqual(problems, []);
  });

  test('a member who administers no team gets only the notebook form', async () => {
    const bob = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    const problems = pageProblems(bob);
    await signIn(bob, t.url, 'bob', 'bob-password', '/hub/jobs');
    // He sees the team's scoring job and what it does…
    await bob.locator('tr[data-job="sales-finance/species"]').waitFor();
    await bob.click('#new-job-button');
    await bob.locator('#new-job-form').waitFor();
    // …but is not offered to create one.
    assert.equal(await bob.locator('#job-kind, #scoring-form, #kind-scoring').count(), 0);
    assert.doesNotMatch(await bob.locator('#new-job').innerText(), /Score a data set/);
    await bob.locator('#new-job').screenshot({ path: path.join(shots, 'new-job-member.png') });
    assert.deepEqual(problems, []);
  });

  test('its owner edits the scoring job’s settings with the same fields, filled in', async () => {
    assert.ok(runId, 'the scoring run succeeded');
    await alice.goto(`${t.url}/hub/jobs/sales-finance/species`);
    await alice.locator('#job-summary #scoring-line').waitFor();
    await alice.click('#job-actions #edit');
    await alice.locator('#edit-columns input[value="email"]').waitFor();
    assert.equal(await alice.inputValue('#edit-model'), 'sales-finance/iris@production');
    assert.equal(await alice.inputValue('#edit-input'), 'flowers');
    assert.equal(await alice.isChecked('#edit-columns input[value="email"]'), true);
    assert.equal(await alice.inputValue('#edit-output'), 'flower-species');
    await alice.locator('#edit-output-status.ok', { hasText: 'flower-species already exists in sales-finance’s catalog: each run adds a new version of it' }).waitFor();
    // A scoring job's notebook is written from its settings: no parameters, no notebook to replace.
    assert.equal(await alice.locator('#edit-parameters, #replace-form').count(), 0);
    await alice.fill('#edit-description', 'Species of the flowers customers send in, for the campaign.');
    await alice.locator('#edit-job').screenshot({ path: path.join(shots, 'scoring-job-edit.png') });
    await alice.click('#save-settings');
    await alice.locator('#flash', { hasText: 'Saved.' }).waitFor();
    assert.equal(await alice.locator('#job-lead').innerText(), 'Species of the flowers customers send in, for the campaign.');
    assert.equal((await alice.locator('#scoring-line').innerText()).trim(), 'Scores flowers with the production version of sales-finance/iris into flower-species.');
    assert.deepEqual(aliceProblems, []);
  });
});
