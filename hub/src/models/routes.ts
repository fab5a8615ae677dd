import type { HubDeps } from '../deps.js';
import { z } from 'zod';
import { badRequest, forbidden, notFound } from '../core/errors.js';
import type { ApiRegistry } from '../core/api.js';
import { modelName, teamName } from '../core/names.js';
import { teamsVisibleTo, canAdministerTeam, memberOrPlatformAdmin, platformAdmin, signedIn, team, type Authorize } from '../core/authorization.js';
import { GUARDRAIL_IDS } from './config.js';
import { ARTIFACT_NAME, notebookSchema } from './notebook.js';
import type { ModelRegistry } from './registry.js';
import { ALIASES, type VersionRecord } from './store.js';

const aliasName = z.enum(ALIASES, { error: 'alias must be staging or production' });
const versionNumber = z.coerce.number({ error: 'version must be a number' }).int('version must be a whole number').min(1, 'version must be at least 1').max(1_000_000, 'version is too large');

const modelParams = z.object({ team: teamName, model: modelName });
const versionParams = modelParams.extend({ version: versionNumber });
const aliasParams = modelParams.extend({ alias: aliasName });

const cardFields = {
  description: z.string().max(5000, 'description must be at most 5,000 characters').describe('What the model predicts, from what'),
  intendedUse: z.string().max(5000, 'intendedUse must be at most 5,000 characters').describe('Who uses it, for what decisions'),
  limitations: z.string().max(5000, 'limitations must be at most 5,000 characters').describe('Where it must not be trusted'),
  owner: z.string().max(200, 'owner must be at most 200 characters').describe('Person accountable for it'),
};
const cardSchema = z.object(cardFields);
const dataSetRef = z.object({
  name: z.string().min(1, 'dataset name must not be empty').max(128).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'dataset name may contain letters, digits, dot, dash and underscore'),
  version: z.string().min(1, 'dataset version must not be empty').max(64),
});

const publishBody = z
  .object({
    displayName: z.string().trim().min(1).max(200).optional().describe('Shown in lists; set when the model is created'),
    notebook: notebookSchema,
    notebookPath: z.string().max(500).default('notebook.ipynb').describe('Where the notebook lived in the workspace, for people'),
    artifacts: z
      .array(
        z
          .object({
            name: z.string().max(200).regex(ARTIFACT_NAME, 'artifact names are relative paths under artifacts/ without ".."').refine((n) => !n.split('/').includes('..'), 'artifact names may not contain ".."'),
            contentBase64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'contentBase64 must be base64'),
          })
          .strict(),
      )
      .max(50, 'at most 50 artifact files')
      .default([])
      .describe('The files the notebook names as artifacts/<name>'),
    image: z.string().min(1).max(64).describe('The curated image the notebook ran in'),
    imageVersion: z.string().min(1).max(64).optional().describe('Its version (default: the catalog’s current one)'),
    datasets: z.array(dataSetRef).max(50).default([]),
    card: cardSchema,
    smokeInput: z.json().optional().describe('JSON handed to predict() in the reproducibility check; default: the notebook’s example_inputs'),
  })
  .strict();

const guardrailSchema = z.object({
  id: z.enum(GUARDRAIL_IDS),
  title: z.string(),
  status: z.enum(['passed', 'failed', 'warning', 'skipped', 'pending']),
  enforcement: z.enum(['block', 'warn', 'off']),
  reason: z.string(),
  details: z.array(z.string()),
  checkedAt: z.number(),
});

const versionSchema = z.object({
  team: z.string(),
  model: z.string(),
  version: z.number(),
  author: z.string(),
  createdAt: z.number().describe('epoch milliseconds'),
  notebookSha256: z.string(),
  notebookPath: z.string(),
  image: z.string(),
  imageVersion: z.string(),
  datasets: z.array(z.object({ name: z.string(), version: z.string() })),
  artifacts: z.array(z.object({ name: z.string(), bytes: z.number(), sha256: z.string() })),
  card: cardSchema,
  metrics: z.record(z.string(), z.number()),
  guardrailStatus: z.enum(['pending', 'passed', 'failed']),
  guardrails: z.array(guardrailSchema),
  guardrailsAt: z.number().nullable(),
  aliases: z.array(aliasName).describe('Aliases pointing at this version'),
  promotable: z.object({ ok: z.boolean(), reason: z.string().nullable() }).describe('Whether a promotion may start (it re-runs every check); why not'),
  needsApproval: z.array(z.string()).describe('Datasets of this version that need a platform approval for production'),
});

const aliasSchema = z.object({ alias: aliasName, version: z.number(), updatedBy: z.string(), updatedAt: z.number() });
const eventSchema = z.object({
  id: z.number(),
  alias: z.string(),
  kind: z.enum(['promote', 'rollback', 'refused']),
  fromVersion: z.number().nullable(),
  toVersion: z.number(),
  actor: z.string(),
  at: z.number(),
  message: z.string(),
  guardrails: z.array(guardrailSchema),
});
const summarySchema = z.object({
  team: z.string(),
  name: z.string(),
  displayName: z.string(),
  latestVersion: z.number().nullable(),
  latestStatus: z.enum(['pending', 'passed', 'failed']).nullable(),
  aliases: z.array(aliasSchema),
  createdAt: z.number(),
});
const promotionSchema = z.object({
  id: z.number(),
  team: z.string(),
  model: z.string(),
  alias: aliasName,
  version: z.number(),
  actor: z.string(),
  status: z.enum(['checking', 'deploying', 'promoted', 'refused', 'failed']).describe('checking → deploying → promoted; or refused (a guardrail failed) / failed'),
  message: z.string(),
  guardrails: z.array(guardrailSchema).describe('Results at promotion; pending ones have not run yet'),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
});
const approvalSchema = z.object({
  id: z.number(),
  team: z.string(),
  model: z.string(),
  dataset: z.string(),
  version: z.number().describe('The version the request was made from; the approval covers the model'),
  purpose: z.string(),
  requestedBy: z.string(),
  requestedAt: z.number(),
  status: z.enum(['pending', 'approved', 'rejected', 'revoked']),
  decidedBy: z.string().nullable(),
  decidedAt: z.number().nullable(),
  decisionNote: z.string().nullable(),
  revokedBy: z.string().nullable(),
  revokedAt: z.number().nullable(),
  revokeNote: z.string().nullable(),
});
const modelSchema = summarySchema.extend({
  versions: z.array(versionSchema),
  canPromoteProduction: z.boolean(),
  promotions: z.array(promotionSchema).describe('The latest promotion attempts, newest first (active ones included)'),
  approvals: z.array(approvalSchema).describe('Production approvals for restricted data asked for this model'),
});
const approvalId = z.coerce.number({ error: 'approval id must be a number' }).int('approval id must be a whole number').min(1, 'approval id must be at least 1').max(2_147_483_647, 'approval id is too large');
const reasonBody = z.object({ reason: z.string().trim().min(5, 'reason must say why (at least 5 characters)').max(2000, 'reason must be at most 2,000 characters') }).strict();

/** What the data catalog knows about the datasets a person read (hub/src/data DataService). */
export interface DataUsage {
  datasetsUsedBy(query: { user: string; notebook?: string; workspace?: string }): Promise<{ dataset: string; lastReadAt: number }[]>;
  /** Versions of a dataset, as `reader` may see them (refused without access). */
  versions(reader: { name: string; platformAdmin: boolean; teams: { team: string; role: 'team-admin' | 'member' }[] }, name: string): Promise<{ version: number }[]>;
}

/** A team's models are its members' (and platform admins'); to anyone else they answer as missing ones do. */
const teamModel = (also?: string): Authorize => ({
  who: memberOrPlatformAdmin(team.param('team')),
  hide: (p) => `There is no model ${String(p.team)}/${String(p.model)} that you can see.`,
  ...(also ? { also } : {}),
});

export function registerModelRoutes(api: ApiRegistry, deps: HubDeps): void {
  const registry = deps.models.registry;
  const usage: DataUsage = deps.data;
  const { store } = registry;
  const withAliases = async (v: VersionRecord) => {
    const aliases = await store.aliases(v.team, v.model);
    const { smokeInput: _smoke, ...rest } = v;
    const promotable = registry.promotable(v);
    return {
      ...rest,
      aliases: aliases.filter((a) => a.version === v.version).map((a) => a.alias),
      promotable: { ok: promotable.ok, reason: promotable.ok ? null : promotable.reason },
      needsApproval: (await registry.approvals.needingApproval(v.team, v.datasets)).map((d) => d.name),
    };
  };
  const summary = async (m: { team: string; name: string; displayName: string; createdAt: number }) => {
    const versions = await store.listVersions(m.team, m.name);
    return {
      team: m.team,
      name: m.name,
      displayName: m.displayName,
      latestVersion: versions[0]?.version ?? null,
      latestStatus: versions[0]?.guardrailStatus ?? null,
      aliases: await store.aliases(m.team, m.name),
      createdAt: m.createdAt,
    };
  };

  api.add({
    method: 'get',
    path: '/session/xsrf',
    tag: 'models',
    summary: 'The XSRF token of the caller’s browser session (null for API tokens), for JupyterLab extensions that change things through the hub API',
    response: z.object({ xsrfToken: z.string().nullable() }),
    authorize: { who: signedIn },
    // Readable only by same-origin pages: the API sends no CORS headers, so another site cannot read it.
    handler: async ({ identity: who }) => ({ xsrfToken: who.via === 'session' ? (who.xsrfToken ?? null) : null }),
  });

  api.add({
    method: 'get',
    path: '/models/datasets-used',
    tag: 'models',
    summary: 'Datasets you read (from the data audit log), from one notebook or workspace, to declare when publishing',
    query: z.object({
      notebook: z.string().max(500).optional().describe('Notebook path relative to your home, as the atrium helper reports it'),
      workspace: z.string().max(63).optional(),
    }),
    response: z.array(z.object({ name: z.string(), version: z.string().describe('The dataset’s current version'), lastReadAt: z.number() })),
    authorize: { who: signedIn },
    handler: async ({ identity: who, query }) => {
      if (!usage) return [];
      let used = await usage.datasetsUsedBy({ user: who.user.name, ...(query.notebook ? { notebook: query.notebook } : {}), ...(query.workspace ? { workspace: query.workspace } : {}) });
      // Reads through plain downloads carry no notebook: fall back to the workspace.
      if (used.length === 0 && query.notebook && query.workspace) used = await usage.datasetsUsedBy({ user: who.user.name, workspace: query.workspace });
      const out = [];
      for (const u of used) {
        const versions = await usage.versions(who.user, u.dataset).catch(() => []);
        const latest = versions.reduce((m, v) => Math.max(m, v.version), 0);
        if (latest > 0) out.push({ name: u.dataset, version: String(latest), lastReadAt: u.lastReadAt });
      }
      return out;
    },
  });

  api.add({
    method: 'get',
    path: '/models',
    tag: 'models',
    summary: 'Models of your teams (platform admins: all), optionally of one team',
    query: z.object({ team: teamName.optional() }),
    response: z.array(summarySchema),
    authorize: { who: memberOrPlatformAdmin(team.query('team')) },
    handler: async ({ identity: who, query }) => {
      let teams = teamsVisibleTo(who.user);
      if (query.team) teams = [query.team];
      return Promise.all((await store.listModels(teams)).map(summary));
    },
  });

  api.add({
    method: 'post',
    path: '/models/:team/:model/versions',
    tag: 'models',
    summary: 'Publish a notebook as a new version (created with the model if needed); guardrails start at once',
    params: modelParams,
    body: publishBody,
    status: 201,
    response: versionSchema,
    authorize: { who: memberOrPlatformAdmin(team.param('team')) },
    handler: async ({ identity: who, params, body }) => {
      const { displayName, ...rest } = body;
      const published = await registry.publish(who, params.team, params.model, { ...rest, ...(displayName ? { displayName } : {}), smokeInput: body.smokeInput });
      return withAliases(published);
    },
  });

  api.add({
    method: 'get',
    path: '/models/:team/:model',
    tag: 'models',
    summary: 'A model with its versions (newest first) and aliases',
    params: modelParams,
    response: modelSchema,
    authorize: teamModel(),
    handler: async ({ identity: who, params }) => {
      const m = await registry.model(who, params.team, params.model);
      const versions = await Promise.all((await store.listVersions(m.team, m.name)).map(withAliases));
      const canPromoteProduction = canAdministerTeam(who.user, m.team);
      return {
        ...(await summary(m)),
        versions,
        canPromoteProduction,
        promotions: await registry.promotions.jobs(m.team, m.name, 10),
        approvals: await registry.approvals.list(who, { team: m.team, model: m.name }),
      };
    },
  });

  api.add({
    method: 'get',
    path: '/models/:team/:model/versions/:version',
    tag: 'models',
    summary: 'One version: lineage, model card, metrics, guardrail results',
    params: versionParams,
    response: versionSchema,
    authorize: teamModel(),
    handler: async ({ identity: who, params }) => withAliases(await registry.version(who, params.team, params.model, params.version)),
  });

  api.add({
    method: 'get',
    path: '/models/:team/:model/versions/:version/notebook',
    tag: 'models',
    summary: 'The notebook snapshot of a version (nbformat 4 JSON)',
    params: versionParams,
    response: z.record(z.string(), z.unknown()),
    authorize: teamModel("A version that failed its guardrails shows its notebook only to its author, the team's admins and platform admins."),
    handler: async ({ identity: who, params }) => {
      const v = await registry.version(who, params.team, params.model, params.version);
      // A version that failed its checks may hold what they caught (personal data, secrets in outputs): only its author and the team's admins see it.
      const insider = v.author === who.user.name || canAdministerTeam(who.user, v.team);
      if (v.guardrailStatus === 'failed' && !insider) {
        throw forbidden(`Version ${v.version} failed its guardrails, so its notebook and outputs are shown only to its author (${v.author}) and the admins of team ${v.team}.`);
      }
      const nb = registry.readNotebook(v);
      if (!nb) throw notFound(`The bundle of version ${v.version} is missing on this hub.`);
      return nb;
    },
  });

  api.add({
    method: 'get',
    path: '/models/:team/:model/compare',
    tag: 'models',
    summary: 'Compare two versions: lineage and card changes, metric deltas, changed code cells',
    params: modelParams,
    query: z.object({ from: versionNumber, to: versionNumber }),
    response: z.object({
      from: z.number(),
      to: z.number(),
      changes: z.array(z.object({ field: z.string(), from: z.string(), to: z.string() })),
      metrics: z.array(z.object({ name: z.string(), from: z.number().nullable(), to: z.number().nullable(), delta: z.number().nullable() })),
      code: z.object({ cellsFrom: z.number(), cellsTo: z.number(), added: z.number(), removed: z.number() }),
    }),
    authorize: teamModel(),
    handler: async ({ identity: who, params, query }) => {
      if (query.from === query.to) throw badRequest('Pick two different versions to compare.', 'to');
      const a = await registry.version(who, params.team, params.model, query.from);
      const b = await registry.version(who, params.team, params.model, query.to);
      return registry.compare(a, b, registry.readNotebook(a), registry.readNotebook(b));
    },
  });

  api.add({
    method: 'post',
    path: '/models/:team/:model/aliases/:alias',
    tag: 'models',
    summary: 'Start promoting a version to staging or production: every guardrail runs again (including the clean re-run), then the version is deployed; answers 202 with the promotion to follow (production needs a team admin)',
    params: aliasParams,
    body: z.object({ version: z.number({ error: 'version is required' }).int('version must be a whole number').min(1, 'version must be at least 1') }).strict(),
    status: 202,
    response: promotionSchema,
    authorize: teamModel('Production needs an admin of the team or a platform admin.'),
    handler: async ({ identity: who, params, body }) => registry.promote(who, params.team, params.model, params.alias, body.version),
  });

  api.add({
    method: 'get',
    path: '/models/:team/:model/promotions/:id',
    tag: 'models',
    summary: 'One promotion: its status (checking, deploying, promoted, refused, failed), message and guardrail results so far',
    params: modelParams.extend({ id: approvalId }),
    response: promotionSchema,
    authorize: teamModel(),
    handler: async ({ identity: who, params }) => registry.promotion(who, params.team, params.model, params.id),
  });

  api.add({
    method: 'post',
    path: '/models/:team/:model/aliases/:alias/rollback',
    tag: 'models',
    summary: 'Roll the alias back to the version that served it before',
    params: aliasParams,
    response: z.object({ version: versionSchema, message: z.string() }),
    authorize: teamModel('Production needs an admin of the team or a platform admin.'),
    handler: async ({ identity: who, params }) => {
      const r = await registry.rollback(who, params.team, params.model, params.alias);
      return { version: await withAliases(r.version), message: r.message };
    },
  });

  api.add({
    method: 'get',
    path: '/models/:team/:model/history',
    tag: 'models',
    summary: 'Every promotion, rollback and refusal, newest first (append-only)',
    params: modelParams,
    query: z.object({ alias: aliasName.optional() }),
    response: z.array(eventSchema),
    authorize: teamModel(),
    handler: async ({ identity: who, params, query }) => {
      await registry.model(who, params.team, params.model);
      return store.history(params.team, params.model, query.alias);
    },
  });

  // ---- production approvals for restricted data ------------------------------

  api.add({
    method: 'post',
    path: '/models/:team/:model/approvals',
    tag: 'models',
    summary: 'Ask the platform admins for production approval of the restricted datasets a version uses (default: all of them that lack one)',
    params: modelParams,
    body: z
      .object({
        version: z.number({ error: 'version is required' }).int('version must be a whole number').min(1, 'version must be at least 1'),
        datasets: z.array(z.string().min(1).max(128)).max(50).optional().describe('Datasets to ask for; default: every one of the version that needs an approval'),
        purpose: z.string().trim().min(10, 'purpose must say what the model does with the data (at least 10 characters)').max(2000, 'purpose must be at most 2,000 characters'),
      })
      .strict(),
    status: 201,
    response: z.array(approvalSchema),
    authorize: { who: memberOrPlatformAdmin(team.param('team')) },
    handler: async ({ identity: who, params, body }) => registry.approvals.request(who, params.team, params.model, body),
  });

  api.add({
    method: 'get',
    path: '/model-approvals',
    tag: 'models',
    summary: 'Production approvals for restricted data: platform admins see all, others their teams’ (newest first)',
    query: z.object({ status: z.enum(['pending', 'approved', 'rejected', 'revoked']).optional(), team: teamName.optional() }),
    response: z.array(approvalSchema),
    authorize: { who: memberOrPlatformAdmin(team.query('team')), also: 'Without ?team, members see their teams’ approvals and platform admins all.' },
    handler: async ({ identity: who, query }) => registry.approvals.list(who, { ...(query.status ? { status: [query.status] } : {}), ...(query.team ? { team: query.team } : {}) }),
  });

  for (const [action, summary] of [
    ['approve', 'Approve a pending request (platform admins, not the requester); the data-policy guardrail then passes for that model and dataset'],
    ['reject', 'Reject a pending request with a reason (platform admins, not the requester)'],
    ['revoke', 'Revoke an approval with a reason (platform admins); the next promotion of the model is refused'],
  ] as const) {
    api.add({
      method: 'post',
      path: `/model-approvals/:id/${action}`,
      tag: 'models',
      summary,
      params: z.object({ id: approvalId }),
      body: reasonBody,
      response: approvalSchema,
      authorize: { who: platformAdmin, ...(action === 'revoke' ? {} : { also: 'Not the platform admin who asked for it.' }) },
      handler: async ({ identity: who, params, body }) =>
        action === 'revoke' ? registry.approvals.revoke(who, params.id, body.reason) : registry.approvals.decide(who, params.id, action, body.reason),
    });
  }
}
