import { z } from 'zod';
import type { ApiRegistry } from '../core/api.js';
import { memberOrPlatformAdmin, platformAdmin, signedIn, team, teamsVisibleTo } from '../core/authorization.js';
import { badRequest, notFound } from '../core/errors.js';
import { teamName } from '../core/names.js';
import type { HubDeps } from '../deps.js';
import { usageCsv } from './csv.js';
import { prometheusText } from './prometheus.js';
import { budgetStatusSchema, GROUPINGS, poolFigureSchema, usageReportSchema } from './schemas.js';

const DAY = 86_400_000;
export const RANGES = { day: DAY, week: 7 * DAY, month: 30 * DAY, quarter: 91 * DAY } as const;

const epochMs = (name: string) => z.coerce.number({ error: `${name} must be a time in milliseconds since 1970` }).int(`${name} must be a whole number`).min(0).max(8_640_000_000_000);

const rangeQuery = {
  range: z.enum(Object.keys(RANGES) as [keyof typeof RANGES, ...(keyof typeof RANGES)[]]).default('week').describe('The last day, week (7 days), month (30 days) or quarter (91 days), up to now'),
  from: epochMs('from').optional().describe('Start of the range (epoch ms); with `to`, instead of `range`'),
  to: epochMs('to').optional().describe('End of the range (epoch ms), at most 400 days after `from`'),
};

function rangeOf(q: { range: keyof typeof RANGES; from?: number | undefined; to?: number | undefined }, now = Date.now()): { from: number; to: number } {
  if (q.from === undefined && q.to === undefined) return { from: now - RANGES[q.range], to: now };
  if (q.from === undefined || q.to === undefined) throw badRequest('Give both from and to, or neither (then range counts back from now).', q.from === undefined ? 'from' : 'to');
  if (q.to <= q.from) throw badRequest('to must be after from.', 'to');
  if (q.to - q.from > 400 * DAY) throw badRequest('A range may span at most 400 days.', 'to');
  return { from: q.from, to: q.to };
}

const budgetBody = z
  .object({
    amount: z.number({ error: 'amount must be a number' }).positive('amount must be more than 0').max(1e12),
    unit: z.enum(['cpu-hours', 'cost'], { error: 'unit must be "cpu-hours" or "cost"' }).describe('CPU-hours requested, or cost in the configured currency'),
    hardLimit: z.boolean().default(false).describe('Refuse new workspaces and job runs once the month’s budget is used (running work is never stopped)'),
  })
  .strict();

export function registerUsageRoutes(api: ApiRegistry, deps: HubDeps): void {
  const usage = deps.usage;
  const teamsFor = async (who: Parameters<typeof teamsVisibleTo>[0], asked: string | undefined): Promise<string[]> => {
    if (asked) return [asked];
    return teamsVisibleTo(who) ?? (await deps.store.teams.list()).map((t) => t.name);
  };
  const statuses = async (teams: string[]) => {
    const out = [];
    for (const t of teams) {
      const s = await usage.budgetStatus(t);
      if (s) out.push(s);
    }
    return out;
  };

  api.add({
    method: 'get',
    path: '/usage',
    tag: 'usage',
    summary: 'What a team’s work requested, used and cost over a range: series by user, kind, image or size; top consumers; storage; budgets (no team: all your teams)',
    query: z.object({ team: teamName.optional(), groupBy: z.enum(GROUPINGS).default('user'), ...rangeQuery }),
    response: usageReportSchema.extend({
      teams: z.array(z.string()).describe('The teams the report covers'),
      budgets: z.array(budgetStatusSchema).describe('This month’s budget of each of those teams that has one'),
    }),
    authorize: { who: memberOrPlatformAdmin(team.query('team')), also: 'Without a team: the caller’s teams (platform admins: every team).' },
    handler: async ({ identity: who, query }) => {
      const { from, to } = rangeOf(query);
      const teams = await teamsFor(who.user, query.team);
      const report = await usage.report(teams, from, to, query.groupBy);
      return { ...report, teams, budgets: await statuses(teams) };
    },
  });

  api.add({
    method: 'get',
    path: '/usage/export',
    tag: 'usage',
    summary: 'Every run in a range as CSV (one row per run: who, what, requested, used, idle, cost), for spreadsheets and billing',
    query: z.object({ team: teamName.optional(), ...rangeQuery }),
    produces: ['text/csv'],
    authorize: { who: memberOrPlatformAdmin(team.query('team')), also: 'Without a team: the caller’s teams (platform admins: every team).' },
    handler: async ({ identity: who, query, res }) => {
      const { from, to } = rangeOf(query);
      const teams = await teamsFor(who.user, query.team);
      const report = await usage.runs(teams, from, to);
      const name = `atrium-usage-${query.team ?? 'teams'}-${new Date(from).toISOString().slice(0, 10)}-${new Date(to).toISOString().slice(0, 10)}.csv`;
      res.status(200).type('text/csv; charset=utf-8').attachment(name).send(usageCsv(report, usage.prices.currency));
      return undefined;
    },
  });

  api.add({
    method: 'get',
    path: '/usage/pool',
    tag: 'usage',
    summary: 'The shared pool in numbers: capacity the teams would need on machines of their own (the sum of their peaks) against the pool’s peak, and its average load',
    query: z.object(rangeQuery),
    response: poolFigureSchema,
    authorize: { who: platformAdmin },
    handler: async ({ query }) => {
      const { from, to } = rangeOf(query);
      return usage.pool(from, to);
    },
  });

  api.add({
    method: 'get',
    path: '/usage/budgets',
    tag: 'usage',
    summary: 'This month’s budget of each of your teams (platform admins: every team), with what is used and any warning',
    response: z.array(budgetStatusSchema),
    authorize: { who: signedIn },
    handler: async ({ identity: who }) => statuses(await teamsFor(who.user, undefined)),
  });

  api.add({
    method: 'put',
    path: '/usage/budgets/:team',
    tag: 'usage',
    summary: 'Set a team’s monthly budget, in CPU-hours or cost, with or without a hard limit on new starts',
    params: z.object({ team: teamName }),
    body: budgetBody,
    response: budgetStatusSchema,
    authorize: { who: platformAdmin },
    handler: async ({ identity: who, params, body }) => {
      if (!(await deps.store.teams.get(params.team))) throw notFound(`There is no team "${params.team}".`);
      await usage.store.setBudget({ team: params.team, amount: body.amount, unit: body.unit, hardLimit: body.hardLimit, updatedBy: who.user.name });
      return (await usage.budgetStatus(params.team))!;
    },
  });

  api.add({
    method: 'delete',
    path: '/usage/budgets/:team',
    tag: 'usage',
    summary: 'Remove a team’s budget',
    params: z.object({ team: teamName }),
    status: 204,
    authorize: { who: platformAdmin },
    handler: async ({ params }) => {
      if (!(await usage.store.removeBudget(params.team))) throw notFound(`Team "${params.team}" has no budget.`);
      return undefined;
    },
  });

  api.add({
    method: 'get',
    path: '/usage/metrics',
    tag: 'usage',
    summary: 'Usage as Prometheus metrics: requested and used CPU, memory and cost per team and kind this month, running work, storage and budgets',
    produces: ['text/plain'],
    authorize: { who: platformAdmin, also: 'Scrape with a platform admin’s API token (Authorization: Bearer …).' },
    handler: async ({ res }) => {
      res.status(200).type('text/plain; version=0.0.4; charset=utf-8').send(await prometheusText(usage));
      return undefined;
    },
  });
}
