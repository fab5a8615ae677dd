import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../integration/helpers.js';

export const artifactsDir = path.join(repoRoot, 'tests', 'artifacts');

/** Debian's Chromium with the flags this sandbox needs (no downloads, no background traffic). */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * What a hub page must never do, collected for a test to assert none
 * happened: throw, be refused a script or style by the CSP (it allows no
 * inline ones), or miss one of its static files.
 */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.url().includes('/hub/static/') && r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`);
  });
  return problems;
}

/** Collect errors the page throws so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, `${name}.png`) });
}

export async function signIn(page: Page, base: string, user: string, password: string, next = '/hub/home'): Promise<void> {
  await page.goto(`${base}${next}`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

/**
 * In an open JupyterLab: a new notebook from the launcher, `code` typed into
 * its first cell and run once the kernel is idle; returns the cell's output
 * text. On a failure the page is saved as `<failureShot>.png`.
 */
export async function runInNewNotebook(page: Page, code: string, failureShot: string): Promise<string> {
  await page.waitForSelector('.jp-LauncherCard[data-category="Notebook"]', { timeout: 120_000 });
  await page.click('.jp-LauncherCard[data-category="Notebook"]');
  const editor = page.locator('.jp-NotebookPanel .jp-Cell .cm-content').first();
  await editor.waitFor();
  // The kernel reports "Idle" in the status bar once it can run code.
  await page.locator('.jp-StatusBar-TextItem', { hasText: /Idle/ }).first().waitFor({ timeout: 120_000 });
  await editor.click();
  await page.keyboard.type(code);
  if ((await editor.innerText()).trim() !== code) throw new Error(`the cell holds ${JSON.stringify(await editor.innerText())}, not what was typed`);
  await page.keyboard.press('Shift+Enter');
  const output = page.locator('.jp-NotebookPanel .jp-OutputArea-output').first();
  try {
    await output.waitFor({ timeout: 120_000 });
  } catch (err) {
    await screenshot(page, failureShot);
    throw err;
  }
  return (await output.innerText()).trim();
}
