import { z } from 'zod';
import { notFound } from '../core/errors.js';
import type { DeploymentView } from './deployments.js';
import { EMPTY_SUMMARY, type MetricsSummary } from './metrics.js';
import { canSeeTeam, memberOrPlatformAdmin, platformAdmin, signedIn, team } from '../core/authorization.js';
import { modelName, servingAlias, teamName } from '../core/names.js';
import type { ApiRegistry } from '../core/api.js';
import type { HubDeps } from '../deps.js';

const deploymentParams = z.object({ team: teamName, model: modelName, alias: servingAlias });

const metricsSchema = z.object({
  requests: z.number(),
  errors: z.number(),
  meanLatencyMs: z.number().nullable(),
  p50LatencyMs: z.number().nullable().describe('Upper bound of the latency bucket holding the median'),
  p99LatencyMs: z.number().nullable(),
});

const deploymentSchema = z.object({
  team: z.string(),
  model: z.string(),
  alias: z.string(),
  version: z.number().nullable().describe('The version taking traffic; null when none is'),
  image: z.string().nullable(),
  imageVersion: z.string().nullable(),
  size: z.string().nullable(),
  since: z.number().nullable(),
  previousVersion: z.number().nullable().describe('What a rollback returns to'),
  deploying: z.boolean(),
  message: z.string().nullable().describe('Why the last deployment failed (the serving version kept serving)'),
  url: z.string().describe('POST here with {"inputs": …} and a token scoped to the model'),
  metrics: metricsSchema.extend({ windowMinutes: z.number() }),
});

const windowQuery = z.object({
  minutes: z.coerce.number().int().min(1).max(10_080).default(60).describe('Metrics window (default the last 60 minutes)'),
});

export function registerDeploymentRoutes(api: ApiRegistry, deps: HubDeps): void {
  const { deployments, metrics: servingMetrics } = deps.serving;

  const withMetrics = async (views: DeploymentView[], minutes: number) => {
    const since = Math.floor((Date.now() - minutes * 60_000) / 60_000) * 60_000;
    const summaries = await servingMetrics.summaries(since);
    return views.map((v) => {
      const s: MetricsSummary = summaries.get(`${v.team}/${v.model}/${v.alias}`) ?? EMPTY_SUMMARY;
      return {
        ...v,
        metrics: {
          requests: s.requests,
          errors: s.errors,
          meanLatencyMs: s.meanLatencyMs,
          p50LatencyMs: s.p50LatencyMs,
          p99LatencyMs: s.p99LatencyMs,
          windowMinutes: minutes,
        },
      };
    });
  };

  const find = async (team: string, model: string, alias: string) => {
    const view = await deployments.current(team, model, alias);
    if (!view) throw notFound(`${team}/${model} is not deployed as ${alias}.`);
    return view;
  };

  api.add({
    method: 'get',
    path: '/deployments',
    tag: 'serving',
    summary: 'Model deployments of your teams (all for platform admins), with request metrics',
    query: windowQuery,
    response: z.array(deploymentSchema),
    authorize: { who: signedIn, also: 'Lists the deployments of your teams (platform admins: all).' },
    handler: async ({ identity: who, query }) => {
      const visible = (await deployments.list()).filter((d) => canSeeTeam(who.user, d.team));
      return withMetrics(visible, query.minutes);
    },
  });

  api.add({
    method: 'get',
    path: '/deployments/:team/:model/:alias',
    tag: 'serving',
    summary: 'One model deployment with its request metrics',
    params: deploymentParams,
    query: windowQuery,
    response: deploymentSchema,
    authorize: { who: memberOrPlatformAdmin(team.param('team')) },
    handler: async ({ params, query }) => {
      const view = await find(params.team, params.model, params.alias);
      return (await withMetrics([view], query.minutes))[0];
    },
  });

  api.add({
    method: 'post',
    path: '/deployments/:team/:model/:alias/rollback',
    tag: 'serving',
    summary: 'Serve the previously deployed version again (platform admins; teams roll back through the model registry, which records it)',
    params: deploymentParams,
    response: deploymentSchema,
    authorize: { who: platformAdmin },
    handler: async ({ params }) => {
      await find(params.team, params.model, params.alias);
      const view = await deployments.rollback(params.team, params.model, params.alias);
      return (await withMetrics([view], 60))[0];
    },
  });

  api.add({
    method: 'put',
    path: '/deployments/:team/:model/:alias',
    tag: 'serving',
    summary: 'Deploy a bundle directory directly (platform admins; publishing normally does this on promotion)',
    params: deploymentParams,
    body: z
      .object({
        version: z.number().int().positive(),
        bundleDir: z.string().min(1).max(4096).describe('Absolute path on the hub host of a bundle (notebook.ipynb, artifacts/, manifest.json)'),
        image: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'image: lower-case letters, digits and dashes'),
        size: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'size: lower-case letters, digits and dashes').optional(),
      })
      .strict(),
    response: deploymentSchema,
    authorize: { who: platformAdmin },
    handler: async ({ params, body }) => {
      const view = await deployments.deploy({ ...params, ...body });
      return (await withMetrics([view], 60))[0];
    },
  });

  api.add({
    method: 'delete',
    path: '/deployments/:team/:model/:alias',
    tag: 'serving',
    summary: 'Stop serving a model alias (platform admins)',
    params: deploymentParams,
    authorize: { who: platformAdmin },
    handler: async ({ params }) => {
      await deployments.undeploy(params.team, params.model, params.alias);
      return undefined;
    },
  });
}
