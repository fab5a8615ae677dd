import { pageData } from '../../core/browser/api.js';
import { html, type Raw } from '../../core/pages/html.js';
import type { UsageReport, UsageWork } from '../../core/browser/api-types.js';

/** Page data, words and number formats the Usage and Shared pool pages share. */

export type Range = 'day' | 'week' | 'month' | 'quarter';
export type Grouping = UsageReport['groupBy'];

export interface Settings {
  currency: string;
  priced: boolean;
  sampleSeconds: number;
  idleCpuCores: number;
  budgetWarningPercent: number;
  ranges: string[];
  groupings: string[];
}

/**
 * What usage/pages.ts hands the page (the team is one the caller may see,
 * checked by the server). `team` null: all the teams the caller may see,
 * offered (as `all`, its label: "All teams" or "All my teams") to platform
 * admins and to people in more than one team; `all` null: no such choice.
 */
export type UsagePageData =
  | { view: 'team'; team: string | null; teams: string[]; all: string | null; platformAdmin: boolean; settings: Settings }
  | { view: 'pool'; settings: Settings };

export const data = pageData<UsagePageData>();

// ---- words ---------------------------------------------------------------------

export const RANGES: { value: Range; label: string; words: string }[] = [
  { value: 'day', label: 'Last day (24 hours)', words: 'in the last day' },
  { value: 'week', label: 'Last week (7 days)', words: 'in the last week' },
  { value: 'month', label: 'Last month (30 days)', words: 'in the last 30 days' },
  { value: 'quarter', label: 'Last quarter (91 days)', words: 'in the last quarter' },
];

export const rangeWords = (range: Range): string => RANGES.find((r) => r.value === range)?.words ?? '';

export function rangeFromUrl(params: URLSearchParams, settings: Settings): Range {
  const asked = params.get('range');
  return RANGES.some((r) => r.value === asked) && settings.ranges.includes(asked!) ? (asked as Range) : 'week';
}

/** The groupings a team's page offers (a team's page is one team: no "by team"). */
export const GROUPINGS: { value: Grouping; label: string; column: string }[] = [
  { value: 'user', label: 'Person', column: 'Person' },
  { value: 'kind', label: 'Kind of work', column: 'Kind of work' },
  { value: 'image', label: 'Image', column: 'Image' },
  { value: 'size', label: 'Size', column: 'Size' },
];

/** The grouping offered (first, and by default) when the page shows several teams at once. */
export const TEAM_GROUPING: { value: Grouping; label: string; column: string } = { value: 'team', label: 'Team', column: 'Team' };

/** The groupings offered for one team (`all` false) or for all of the caller's teams (`all` true). */
export const groupingsFor = (all: boolean): { value: Grouping; label: string; column: string }[] => (all ? [TEAM_GROUPING, ...GROUPINGS] : GROUPINGS);

/** A grouping's words, whichever view offered it. */
export const groupingOf = (value: Grouping): { value: Grouping; label: string; column: string } => groupingsFor(true).find((g) => g.value === value) ?? GROUPINGS[0]!;

export const KIND_WORDS: Record<UsageWork['kind'], { one: string; many: string }> = {
  workspace: { one: 'Workspace', many: 'Workspaces' },
  'model-server': { one: 'Model server', many: 'Model servers' },
  rerun: { one: 'Guardrail re-run', many: 'Guardrail re-runs' },
  'job-run': { one: 'Job run', many: 'Job runs' },
};

export const STORAGE_WORDS: Record<UsageReport['storage'][number]['kind'], string> = {
  homes: 'Home folders',
  datasets: 'Data sets',
  models: 'Model bundles',
};

/** A group's name as people read it ("(team fraud)" is a team's own work: model servers, re-runs). */
export function groupWords(group: string, groupBy: Grouping): string {
  if (groupBy === 'kind' && group in KIND_WORDS) return KIND_WORDS[group as UsageWork['kind']].many;
  const own = /^\(team (.*)\)$/.exec(group);
  if (groupBy === 'user' && own) return `Team ${own[1]}’s own work`;
  return group;
}

// ---- numbers -----------------------------------------------------------------

const upTo = (digits: number) => new Intl.NumberFormat('en-US', { maximumFractionDigits: digits });
const whole = upTo(0);
const oneDecimal = upTo(1);
const twoDecimals = upTo(2);

/** A figure rounded the way people read it: 0, < 0.01, 0.35, 4.2, 37, 1,250. */
export function figure(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 0.01) return '< 0.01';
  if (a < 1) return twoDecimals.format(v);
  if (a < 100) return oneDecimal.format(v);
  return whole.format(v);
}

/** Hours with their unit: "1 hour", "2.5 hours", "< 0.01 hours". */
export const hoursText = (v: number, unit = 'hour'): string => `${figure(v)} ${v === 1 ? unit : `${unit}s`}`;
export const cpuHours = (v: number): string => `${figure(v)} CPU-hour${v === 1 ? '' : 's'}`;
export const cores = (v: number): string => `${figure(v)} CPU core${v === 1 ? '' : 's'}`;
export const gib = (v: number): string => `${figure(v)} GiB`;

/** A share as a whole percentage; small non-zero shares are not rounded to 0 and almost-all is not rounded to 100. */
export function percent(share: number): string {
  if (share <= 0) return '0%';
  if (share < 0.01) return 'under 1%';
  if (share < 1 && share > 0.995) return '99%';
  return `${Math.round(share * 100)}%`;
}

/** Money as the hub writes it in messages: "1,200.00 EUR". */
export function money(v: number, currency: string): string {
  const a = Math.abs(v);
  const text = a > 0 && a < 0.01 ? '< 0.01' : v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${text} ${currency}`;
}

// ---- times -------------------------------------------------------------------

const dateTime = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** A moment in the reader's time zone, the exact moment on hover. */
export const timeTag = (ms: number): Raw => html`<time datetime="${new Date(ms).toISOString()}" title="${new Date(ms).toString()}">${dateTime.format(new Date(ms))}</time>`;

// ---- bars --------------------------------------------------------------------

/**
 * A horizontal bar as SVG: its parts' widths are attributes, so the markup
 * stays escaped by construction and needs no style attribute (the CSP allows
 * none). `parts` are shares of the bar's full width, drawn left to right;
 * `marks` are thin lines at a share (a warning threshold).
 */
export function bar(parts: { share: number; cls: string; title?: string }[], label: string, marks: { at: number; cls: string }[] = []): Raw {
  let x = 0;
  const rects = parts.map((p) => {
    const w = Math.max(0, Math.min(100 - x, p.share * 100));
    const r = html`<rect class="${p.cls}" x="${x.toFixed(3)}" y="0" width="${w.toFixed(3)}" height="10">${p.title ? html`<title>${p.title}</title>` : ''}</rect>`;
    x += w;
    return r;
  });
  const lines = marks.map((m) => html`<rect class="${m.cls}" x="${Math.max(0, Math.min(99.6, m.at * 100)).toFixed(3)}" y="0" width="0.4" height="10"></rect>`);
  return html`<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="${label}"><rect class="bar-track" x="0" y="0" width="100" height="10"></rect>${rects}${lines}</svg>`;
}
