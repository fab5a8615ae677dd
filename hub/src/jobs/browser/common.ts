import { pageData } from '../../core/browser/api.js';
import { renderInto } from '../../core/browser/dom.js';
import { timeAgo } from '../../core/browser/format.js';
import { html, type Raw } from '../../core/pages/html.js';
import type { ApiBody, ApiResponse } from '../../core/browser/api-types.js';

/** Types, page data, words and formats the job pages share. */
export type Job = ApiResponse<'get', '/hub/api/jobs'>[number];
export type JobDetail = ApiResponse<'get', '/hub/api/jobs/{team}/{job}'>;
export type Run = ApiResponse<'get', '/hub/api/jobs/{team}/{job}/runs/{run}'>;
export type NewJob = ApiBody<'post', '/hub/api/jobs/{team}'>;
export type JobChange = ApiBody<'patch', '/hub/api/jobs/{team}/{job}'>;
export type SchedulePreview = ApiResponse<'get', '/hub/api/schedule-preview'>;
export type Notifications = ApiResponse<'get', '/hub/api/notifications'>;
export type Limits = { defaultTimeoutMinutes: number; maxTimeoutMinutes: number; maxRetries: number; maxNotebookMiB: number };
export type ScoringSettings = NonNullable<Job['scoring']>;
export type ModelSummary = ApiResponse<'get', '/hub/api/models'>[number];
export type CatalogEntry = ApiResponse<'get', '/hub/api/datasets'>[number];

export const data = pageData<{
  view: 'list' | 'job' | 'run' | 'notifications';
  user: string;
  teams?: string[];
  /** The teams the caller administers: where they may create batch-scoring jobs. */
  adminTeams?: string[];
  team?: string;
  job?: string;
  run?: number;
  canOperate?: boolean;
  canSeeResults?: boolean;
  /** On a run's page: the job's batch-scoring settings, or null. */
  scoring?: ScoringSettings | null;
  /** On a run's page: whose access the run read with. */
  owner?: string;
  limits?: Limits;
}>();

// ---- words and formats ---------------------------------------------------------

export const ACTIVE: Run['status'][] = ['queued', 'running'];
export const isActive = (r: { status: Run['status'] }) => ACTIVE.includes(r.status);

export const STATUS: Record<Run['status'], { words: string; cls: string }> = {
  queued: { words: 'waiting to start', cls: 'warn' },
  running: { words: 'running', cls: 'info running' },
  succeeded: { words: 'succeeded', cls: 'ok' },
  failed: { words: 'failed', cls: 'bad' },
  cancelled: { words: 'cancelled', cls: '' },
};

export const statusBadge = (r: Pick<Run, 'status' | 'cancelRequested'>): Raw =>
  html`<span class="badge status ${STATUS[r.status].cls}" data-status="${r.status}">${r.cancelRequested && isActive(r) ? 'cancelling…' : STATUS[r.status].words}</span>`;

export const lateBadge = (r: Run): Raw | '' => (r.late ? html`<span class="badge warn late" title="It was queued more than a minute after it was due: no hub was running to start it then.">late</span>` : '');

export function triggerWords(r: Pick<Run, 'trigger' | 'attempt'>): string {
  if (r.trigger === 'retry') return `retry, attempt ${r.attempt}`;
  return r.trigger === 'schedule' ? 'schedule' : 'by hand';
}

export const dateTime = new Intl.DateTimeFormat(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
export const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** A moment in the reader's own time zone. */
export const when = (ms: number): string => dateTime.format(new Date(ms));

/** "in 3 h", "5 min ago": how far a moment is from now. */
export function fromNow(ms: number): string {
  const seconds = Math.round((ms - Date.now()) / 1000);
  if (seconds < 0) return timeAgo(ms);
  if (seconds < 45) return 'in a moment';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `in ${hours} h`;
  return `in ${Math.round(hours / 24)} days`;
}

/** A time as a <time> element: local words, the exact moment on hover. */
export const timeTag = (ms: number, words = when(ms)): Raw => html`<time datetime="${new Date(ms).toISOString()}" title="${new Date(ms).toString()}">${words}</time>`;

/** How long a running run has been going, in whole seconds at most. */
export function runningFor(startedAt: number): string {
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  return seconds < 2 ? 'just started' : `${duration(seconds)} so far`;
}

export function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export const valueText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export function parameterList(p: Record<string, unknown>): Raw {
  const entries = Object.entries(p);
  if (entries.length === 0) return html`<span class="muted">none: the notebook’s own values</span>`;
  return html`<ul class="param-list">${entries.map(([k, v]) => html`<li><code>${k}</code> = <code>${typeof v === 'string' ? JSON.stringify(v) : valueText(v)}</code></li>`)}</ul>`;
}

export function scheduleWords(j: Pick<Job, 'schedule' | 'scheduleDescription' | 'timezone'>): Raw {
  if (!j.schedule) return html`<span class="muted">by hand only</span>`;
  return html`<span class="schedule-words">${j.scheduleDescription ?? j.schedule}</span> <span class="hint-inline">(${j.timezone})</span>`;
}

export const jobPath = (team: string, job: string) => `/jobs/${encodeURIComponent(team)}/${encodeURIComponent(job)}`;
export const jobPage = (team: string, job: string) => `/hub${jobPath(team, job)}`;
export const runPage = (team: string, job: string, run: number) => `${jobPage(team, job)}/runs/${run}`;

export function flashHtml(content: Raw, kind: 'ok' | 'error' = 'ok'): void {
  renderInto('flash', kind === 'ok' ? html`<div class="notice-box" role="status">${content}</div>` : html`<div class="error-box" role="alert">${content}</div>`);
}
