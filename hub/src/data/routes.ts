import { z } from 'zod';
import type { RequestIdentity } from '../identity/identity.js';
import { auditCsv } from './audit.js';
import { CLASSIFICATIONS, COLUMN_TYPES, columnSchema, datasetName, FORMATS, MASK_RULES, PII_KINDS, type Grant, type AccessRequest, type Dataset } from './model.js';
import { type DataService, type DatasetPatch, type DatasetView, type ReadContext, subjectOf } from './service.js';
import { ApiError, notFound } from '../core/errors.js';
import { type Credential, PERSONAL, platformAdmin, signedIn, team, teamAdminOrPlatformAdmin } from '../core/authorization.js';
import { TAG, teamName } from '../core/names.js';
import type { ApiRegistry } from '../core/api.js';
import type { HubDeps } from '../deps.js';
import { registerWorkspaceMountRoutes } from './workspace-mounts.js';


const nameParam = z.object({ name: datasetName });
const tagSchema = z.string().min(1).max(TAG.maxLength).regex(TAG.pattern, 'tags are lower-case words or dashes');
const when = z
  .string()
  .max(40)
  .refine((s) => !Number.isNaN(Date.parse(s)), 'must be a date like 2026-12-31 or an ISO timestamp')
  .transform((s) => Date.parse(s));
const purpose = z.string({ error: 'purpose is required' }).trim().min(10, 'purpose: say in a sentence what the data is for (at least 10 characters)').max(1000);

const accessSchema = z.object({
  allowed: z.boolean(),
  piiCleared: z.boolean(),
  via: z.enum(['owner', 'automatic', 'grant', 'none']),
  grantId: z.number().nullable(),
  expiresAt: z.number().nullable(),
  reason: z.string(),
});
const columnOut = z.object({ name: z.string(), type: z.string(), pii: z.string().nullable(), mask: z.string().nullable(), joinKey: z.boolean().optional(), description: z.string() });
const requestOut = z.object({
  id: z.string(),
  dataset: z.string(),
  requester: z.string(),
  granteeKind: z.enum(['user', 'team']),
  grantee: z.string(),
  purpose: z.string(),
  pii: z.boolean(),
  expiresAt: z.number().nullable(),
  status: z.enum(['pending', 'approved', 'rejected', 'withdrawn']),
  teamApprovedBy: z.string().nullable(),
  platformApprovedBy: z.string().nullable(),
  decidedBy: z.string().nullable(),
  decidedAt: z.number().nullable(),
  decisionNote: z.string().nullable(),
  createdAt: z.number(),
});
const datasetOut = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  ownerTeam: z.string(),
  classification: z.enum(CLASSIFICATIONS),
  format: z.enum(FORMATS),
  columns: z.array(columnOut),
  tags: z.array(z.string()),
  productionAllowed: z.boolean(),
  currentVersion: z.number(),
  updatedAt: z.number(),
  access: accessSchema,
  canManage: z.boolean(),
  mounted: z.boolean(),
  pendingRequest: requestOut.nullable(),
});
const grantOut = z.object({
  id: z.number(),
  dataset: z.string(),
  granteeKind: z.enum(['user', 'team']),
  grantee: z.string(),
  piiCleared: z.boolean(),
  purpose: z.string(),
  requestId: z.string().nullable(),
  grantedBy: z.string(),
  createdAt: z.number(),
  expiresAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
  revokedBy: z.string().nullable(),
  approvedClassification: z.enum(CLASSIFICATIONS).nullable().describe('The classification the grant was approved under; a stricter dataset stops it'),
  approvedMasks: z.record(z.string(), z.enum(MASK_RULES)).nullable().describe('Column → mask at approval; a PII clearance covers only these'),
});
const changeOut = z.object({
  id: z.string(),
  dataset: z.string(),
  proposedBy: z.string(),
  patch: z.record(z.string(), z.unknown()),
  changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).describe('Old and new values of each field'),
  reason: z.string().describe('Why it needs a platform admin'),
  status: z.enum(['pending', 'approved', 'rejected', 'withdrawn']),
  decidedBy: z.string().nullable(),
  decidedAt: z.number().nullable(),
  decisionNote: z.string().nullable(),
  createdAt: z.number(),
});
const versionOut = z.object({
  version: z.number(),
  size: z.number(),
  sha256: z.string(),
  rows: z.number().nullable(),
  note: z.string(),
  createdBy: z.string(),
  createdAt: z.number(),
  lineage: z
    .object({
      job: z.object({ name: z.string(), run: z.number() }),
      model: z.object({ name: z.string(), version: z.number(), alias: z.string() }),
      inputs: z.array(z.object({ name: z.string(), version: z.number() })),
    })
    .nullable()
    .describe('For a version a batch-scoring job wrote: the job run, the model version and the input versions; null for uploads'),
});
const auditOut = z.object({
  seq: z.number(),
  at: z.number(),
  actor: z.string(),
  action: z.string(),
  dataset: z.string().nullable(),
  ownerTeam: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
  hash: z.string(),
});

const viewJson = (v: DatasetView) => ({ ...v.dataset, access: v.access, canManage: v.canManage, mounted: v.mounted, pendingRequest: v.pendingRequest ? requestJson(v.pendingRequest) : null });
const requestJson = (r: AccessRequest) => r;
const grantJson = (g: Grant) => g;

/**
 * Who read, from where. The credential and the workspace come from how the
 * caller authenticated (a workspace token names its workspace); the
 * `X-Atrium-Client`/`-Notebook`/`-Workspace` headers are only what the
 * caller says about itself, so the audit log keeps them apart as `claimed`.
 */
function readContext(req: { get(name: string): string | undefined }, route: string, identity: RequestIdentity): ReadContext {
  const header = (name: string) => {
    const v = req.get(name);
    return v && v.length <= 300 && !/[\u0000-\u001f]/.test(v) ? v : undefined;
  };
  const ctx: ReadContext = { route, credential: identity.job ? 'job run' : identity.rerun ? 're-run' : identity.workspace ? 'workspace token' : identity.via === 'session' ? 'session' : 'api token' };
  if (identity.workspace) ctx.workspace = identity.workspace;
  if (identity.rerun) ctx.rerun = identity.rerun;
  if (identity.job) ctx.job = identity.job;
  const claimed: NonNullable<ReadContext['claimed']> = {};
  const client = header('X-Atrium-Client');
  const notebook = header('X-Atrium-Notebook');
  const workspace = header('X-Atrium-Workspace');
  if (client) claimed.client = client;
  if (notebook) claimed.notebook = notebook;
  if (workspace) claimed.workspace = workspace.split('/')[1] ?? workspace;
  if (Object.keys(claimed).length > 0) ctx.claimed = claimed;
  return ctx;
}

const createBody = z
  .object({
    name: datasetName,
    title: z.string().trim().min(1, 'title is required').max(200),
    description: z.string().max(4000).default(''),
    ownerTeam: teamName,
    classification: z.enum(CLASSIFICATIONS),
    format: z.enum(FORMATS).default('csv'),
    columns: z.array(columnSchema).min(1, 'list at least one column').max(500),
    tags: z.array(tagSchema).max(12).default([]),
    productionAllowed: z.boolean().default(false),
  })
  .strict();

const updateBody = z
  .object({
    title: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(4000).optional(),
    classification: z.enum(CLASSIFICATIONS).optional(),
    columns: z.array(columnSchema).min(1).max(500).optional(),
    tags: z.array(tagSchema).max(12).optional(),
    productionAllowed: z.boolean().optional(),
  })
  .strict();

/**
 * What machines may call here: code in a workspace (its server's token) reads
 * and mounts what its user may; a notebook re-run reads what its author may.
 * Everything that decides or changes governance needs the person.
 */
const READERS: readonly Credential[] = [...PERSONAL, 'workspace-token', 'rerun-token'];
const MOUNTERS: readonly Credential[] = [...PERSONAL, 'workspace-token'];
const POLICY = 'The data-access policy decides per dataset (classification, grants), and audits refusals.';

export function registerDatasetRoutes(api: ApiRegistry, { data }: HubDeps): void {
  const subject = (who: RequestIdentity) => subjectOf(who.user);
  const datasetTeam = team.ownerOf('dataset', 'name', async (name) => {
    const d = await data.data.getDataset(name);
    if (!d) throw notFound(`There is no dataset "${name}".`);
    return d.ownerTeam;
  });
  registerWorkspaceMountRoutes(api, data);

  // ---- requests, mounts and audit live under /data, apart from the /datasets/:name namespace ----
  api.add({
    method: 'get',
    path: '/data/mounts',
    tag: 'data',
    summary: 'Datasets mounted in your workspaces (~/datasets/<name>/)',
    response: z.array(z.object({ dataset: z.string(), version: z.number(), piiCleared: z.boolean(), createdAt: z.number(), path: z.string() })),
    authorize: { who: signedIn, credentials: MOUNTERS },
    handler: async ({ identity }) => (await data.mounts(identity.user.name)).map((m) => ({ dataset: m.dataset, version: m.version, piiCleared: m.piiCleared, createdAt: m.createdAt, path: `~/datasets/${m.dataset}` })),
  });

  api.add({
    method: 'get',
    path: '/data/requests',
    tag: 'data',
    summary: 'Access requests: `mine` (yours) or `inbox` (waiting for your approval)',
    query: z.object({ box: z.enum(['mine', 'inbox']).default('mine') }),
    response: z.array(requestOut.extend({ canApprove: z.array(z.enum(['team', 'platform'])), classification: z.enum(CLASSIFICATIONS).nullable(), ownerTeam: z.string().nullable() })),
    authorize: { who: signedIn, also: 'The inbox lists what the caller may decide.' },
    handler: async ({ identity, query }) => {
      const s = subject(identity);
      if (query.box === 'inbox') return (await data.inbox(s)).map((i) => ({ ...requestJson(i.request), canApprove: i.canApprove, classification: i.dataset.classification, ownerTeam: i.dataset.ownerTeam }));
      const mine = await data.myRequests(s);
      const out = [];
      for (const r of mine) {
        const d = await data.data.getDataset(r.dataset);
        out.push({ ...requestJson(r), canApprove: [] as ('team' | 'platform')[], classification: d?.classification ?? null, ownerTeam: d?.ownerTeam ?? null });
      }
      return out;
    },
  });

  const requestParam = z.object({ id: z.string().max(64).regex(/^req_[A-Za-z0-9_-]+$/, 'not an access-request id (req_…)') });
  const noteBody = z.object({ note: z.string().max(1000).default('') }).strict();

  api.add({
    method: 'get',
    path: '/data/requests/:id',
    tag: 'data',
    summary: 'One access request (yours, or one you can decide)',
    params: requestParam,
    response: requestOut,
    authorize: { who: signedIn, also: 'Only its requester and those who may decide it see it.' },
    handler: async ({ identity, params }) => requestJson(await data.getRequest(subject(identity), params.id)),
  });

  api.add({
    method: 'post',
    path: '/data/requests/:id/approve',
    tag: 'data',
    summary: "Approve a request: the owning team's admin; restricted data also a platform admin (the grant is created with the last approval)",
    params: requestParam,
    body: noteBody,
    response: z.object({ request: requestOut, grant: grantOut.nullable() }),
    authorize: { who: signedIn, also: "The owning team's admins approve (platform admins too, except for restricted data, which needs both); never the requester." },
    handler: async ({ identity, params, body }) => {
      const { request, grant } = await data.approve(subject(identity), params.id, body.note);
      return { request: requestJson(request), grant: grant ? grantJson(grant) : null };
    },
  });

  api.add({
    method: 'post',
    path: '/data/requests/:id/reject',
    tag: 'data',
    summary: 'Reject a request (owning team admins, platform admins)',
    params: requestParam,
    body: noteBody,
    response: requestOut,
    authorize: { who: signedIn, also: "The owning team's admins and platform admins." },
    handler: async ({ identity, params, body }) => requestJson(await data.reject(subject(identity), params.id, body.note)),
  });

  const changeParam = z.object({ id: z.string().regex(/^chg_[A-Za-z0-9_-]{8,40}$/, 'not a change id') });

  api.add({
    method: 'get',
    path: '/data/changes',
    tag: 'data',
    summary: "Catalog changes that loosen restricted data's rules, waiting for (or decided by) a platform admin",
    query: z.object({ status: z.enum(['pending', 'approved', 'rejected', 'withdrawn']).optional() }),
    response: z.array(changeOut.extend({ canDecide: z.boolean(), datasetTitle: z.string(), classification: z.enum(CLASSIFICATIONS) })),
    authorize: { who: signedIn, also: 'Platform admins see all; others the changes to their teams’ datasets and their own.' },
    handler: async ({ identity, query }) =>
      (await data.changes(subject(identity), query.status ? { status: query.status } : {})).map((x) => ({ ...x.change, canDecide: x.canDecide, datasetTitle: x.dataset.title, classification: x.dataset.classification })),
  });

  api.add({
    method: 'post',
    path: '/data/changes/:id/approve',
    tag: 'data',
    summary: 'Approve a catalog change that loosens restricted data (a platform admin other than the one who asked); it applies at once',
    params: changeParam,
    body: noteBody,
    response: changeOut,
    authorize: { who: platformAdmin, also: 'Not the one who asked for it.' },
    handler: async ({ identity, params, body }) => data.approveChange(subject(identity), params.id, body.note),
  });

  api.add({
    method: 'post',
    path: '/data/changes/:id/reject',
    tag: 'data',
    summary: 'Reject a pending catalog change (platform admins), or withdraw your own',
    params: changeParam,
    body: noteBody,
    response: changeOut,
    authorize: { who: signedIn, also: 'Platform admins reject; the person who asked withdraws their own.' },
    handler: async ({ identity, params, body }) => data.rejectChange(subject(identity), params.id, body.note),
  });

  api.add({
    method: 'post',
    path: '/data/requests/:id/withdraw',
    tag: 'data',
    summary: 'Withdraw your own pending request',
    params: requestParam,
    response: requestOut,
    authorize: { who: signedIn, also: 'Only the person who asked.' },
    handler: async ({ identity, params }) => requestJson(await data.withdraw(subject(identity), params.id)),
  });

  const auditQuery = z.object({
    dataset: datasetName.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
    before: z.coerce.number().int().min(1).optional().describe('Only entries with a lower sequence number (paging)'),
  });

  api.add({
    method: 'get',
    path: '/data/audit',
    tag: 'data',
    summary: "Audit log of data access, newest first: platform admins see all, team members their team's datasets, everyone their own actions",
    query: auditQuery,
    response: z.array(auditOut),
    authorize: { who: signedIn, also: "Platform admins see every entry; others their teams' datasets and their own actions." },
    handler: async ({ identity, query }) =>
      (await data.auditFor(subject(identity), { ...(query.dataset ? { dataset: query.dataset } : {}), limit: query.limit, ...(query.before ? { beforeSeq: query.before } : {}) })).map(({ prevHash: _p, ...e }) => e),
  });

  api.add({
    method: 'get',
    path: '/data/audit.csv',
    tag: 'data',
    summary: 'The audit entries you may see, as CSV',
    query: auditQuery.omit({ before: true }).extend({ limit: z.coerce.number().int().min(1).max(100000).default(10000) }),
    produces: ['text/csv'],
    authorize: { who: signedIn, also: "Platform admins see every entry; others their teams' datasets and their own actions." },
    handler: async ({ identity, query, res }) => {
      const entries = await data.auditFor(subject(identity), { ...(query.dataset ? { dataset: query.dataset } : {}), limit: query.limit });
      res.setHeader('Content-Disposition', `attachment; filename="atrium-data-audit${query.dataset ? `-${query.dataset}` : ''}.csv"`);
      res.status(200).type('text/csv').send(auditCsv(entries));
      return undefined;
    },
  });

  api.add({
    method: 'get',
    path: '/data/audit/verify',
    tag: 'data',
    summary: 'Recompute the audit hash chain and compare its end with the head recorded outside the database (platform admins)',
    response: z.object({
      ok: z.boolean(),
      count: z.number(),
      head: z.string(),
      brokenAt: z.number().optional(),
      problem: z.string().optional(),
      anchor: z.object({ seq: z.number(), hash: z.string(), at: z.number(), where: z.string() }).optional().describe('The furthest head recorded outside the database (detects deleted newest entries)'),
    }),
    authorize: { who: platformAdmin },
    handler: async () => {
      return data.audit.verify();
    },
  });

  const inspectedColumn = z.object({
    name: z.string(),
    type: z.enum(COLUMN_TYPES),
    suggestedPii: z.enum(PII_KINDS).nullable(),
    suggestedMask: z.enum(MASK_RULES).nullable(),
    reason: z.string(),
    samples: z.array(z.string()),
  });
  api.add({
    method: 'post',
    path: '/data/inspect',
    tag: 'data',
    summary: 'Read the columns of a CSV (text/csv) or Parquet (application/vnd.apache.parquet) file sent as the raw body, with suggested types, PII tags and masks; nothing is stored (team admins, platform admins)',
    query: z.object({ partial: z.enum(['true', 'false']).default('false').describe('The body is only the start of a CSV file: a record cut off at its end is not an error') }),
    response: z.object({ format: z.enum(FORMATS), columns: z.array(inspectedColumn), sampledRows: z.number() }),
    authorize: { who: signedIn, also: 'Only admins of some team (or platform admins); the service checks, so that refusals are audited.' },
    handler: async ({ identity, query, req }) => {
      if (req.body !== undefined && (req as unknown as { _body?: boolean })._body) {
        throw new ApiError(415, 'unsupported_media_type', 'Send the file as the raw request body with Content-Type text/csv or application/vnd.apache.parquet, not JSON.');
      }
      const declaredBytes = Number(req.headers['content-length'] ?? 0) || 0;
      return data.inspect(subject(identity), req, { contentType: req.headers['content-type'] ?? '', partial: query.partial === 'true', declaredBytes });
    },
  });

  // ---- the catalog ----
  api.add({
    method: 'get',
    path: '/datasets',
    tag: 'data',
    summary: 'The data catalog with your access to each dataset; search by words, filter by tag, classification, team',
    query: z.object({
      q: z.string().max(200).optional(),
      tag: z.string().max(40).optional(),
      classification: z.enum(CLASSIFICATIONS).optional(),
      team: z.string().max(63).optional(),
    }),
    response: z.array(datasetOut),
    authorize: { who: signedIn, credentials: READERS, also: 'Lists every dataset with what the data-access policy allows the caller.' },
    handler: async ({ identity, query }) =>
      (await data.catalog(subject(identity), { ...(query.q ? { q: query.q } : {}), ...(query.tag ? { tag: query.tag } : {}), ...(query.classification ? { classification: query.classification } : {}), ...(query.team ? { team: query.team } : {}) })).map(viewJson),
  });

  api.add({
    method: 'post',
    path: '/datasets',
    tag: 'data',
    summary: "Register a dataset for a team (that team's admins, platform admins); upload its data with PUT /datasets/{name}/data",
    body: createBody,
    status: 201,
    response: datasetOut,
    authorize: { who: teamAdminOrPlatformAdmin(team.body('ownerTeam')) },
    handler: async ({ identity, body }) => {
      const d = await data.register(subject(identity), { ...body, description: body.description });
      return viewJson(await data.view(subject(identity), d.name));
    },
  });

  api.add({
    method: 'get',
    path: '/datasets/:name',
    tag: 'data',
    summary: 'One dataset: description, schema with PII tags, your access',
    params: nameParam,
    response: datasetOut,
    authorize: { who: signedIn, credentials: READERS },
    handler: async ({ identity, params }) => viewJson(await data.view(subject(identity), params.name)),
  });

  api.add({
    method: 'patch',
    path: '/datasets/:name',
    tag: 'data',
    summary:
      'Change description, classification, tags, PII tags and masks (owning team admins); mounts follow within seconds. Loosening restricted data (lower classification, weaker masking) waits for a platform admin: pendingChange.',
    params: nameParam,
    body: updateBody,
    response: datasetOut.extend({ pendingChange: changeOut.nullable().describe('Set when the change waits for a platform admin; the dataset is unchanged meanwhile') }),
    authorize: { who: teamAdminOrPlatformAdmin(datasetTeam), also: 'Loosening restricted data waits for another platform admin.' },
    handler: async ({ identity, params, body }) => {
      const { pendingChange } = await data.update(subject(identity), params.name, body as DatasetPatch);
      return { ...viewJson(await data.view(subject(identity), params.name)), pendingChange };
    },
  });

  api.add({
    method: 'put',
    path: '/datasets/:name/data',
    tag: 'data',
    summary: 'Upload a new version: the raw CSV (text/csv) or Parquet (application/vnd.apache.parquet) file as the body; checked against the schema',
    params: nameParam,
    query: z.object({ note: z.string().max(400).default('') }),
    status: 201,
    response: versionOut,
    authorize: { who: signedIn, also: 'Only admins of the owning team (or platform admins); the service checks, so that refusals are audited.' },
    handler: async ({ identity, params, query, req }) => {
      if (req.body !== undefined && (req as unknown as { _body?: boolean })._body) {
        throw new ApiError(415, 'unsupported_media_type', 'Send the file as the raw request body with Content-Type text/csv or application/vnd.apache.parquet, not JSON.');
      }
      const declaredBytes = Number(req.headers['content-length'] ?? 0) || 0;
      const v = await data.upload(subject(identity), params.name, req, { contentType: req.headers['content-type'] ?? '', note: query.note, declaredBytes });
      return v;
    },
  });

  api.add({
    method: 'get',
    path: '/datasets/:name/versions',
    tag: 'data',
    summary: 'Versions of a dataset, newest first',
    params: nameParam,
    response: z.array(versionOut),
    authorize: { who: signedIn, credentials: READERS, also: POLICY },
    handler: async ({ identity, params }) => data.versions(subject(identity), params.name),
  });

  api.add({
    method: 'get',
    path: '/datasets/:name/preview',
    tag: 'data',
    summary: 'The first rows, masked as your access requires (audited)',
    params: nameParam,
    query: z.object({ rows: z.coerce.number().int().min(1).max(200).default(20) }),
    response: z.object({
      columns: z.array(z.string()),
      rows: z.array(z.array(z.union([z.string(), z.number(), z.boolean(), z.null()]))),
      maskedColumns: z.array(z.string()),
      piiCleared: z.boolean(),
      version: z.number(),
    }),
    authorize: { who: signedIn, credentials: READERS, also: POLICY },
    handler: async ({ identity, params, query, req }) => data.preview(subject(identity), params.name, query.rows, readContext(req, 'preview', identity)),
  });

  api.add({
    method: 'get',
    path: '/datasets/:name/download',
    tag: 'data',
    summary: 'The current version as a file, masked as your access requires (audited)',
    params: nameParam,
    produces: ['text/csv', 'application/vnd.apache.parquet'],
    authorize: { who: signedIn, credentials: READERS, also: POLICY },
    handler: async ({ identity, params, req, res }) => {
      const file = await data.download(subject(identity), params.name, readContext(req, 'download', identity));
      res.status(200);
      res.setHeader('Content-Type', file.contentType);
      res.setHeader('Content-Disposition', `attachment; filename="${file.fileName}"`);
      res.setHeader('X-Atrium-Masked-Columns', file.maskedColumns.join(','));
      res.setHeader('X-Atrium-Version', String(file.version));
      file.stream.on('error', () => res.destroy());
      file.stream.pipe(res);
      await new Promise<void>((resolve) => res.on('close', () => resolve()));
      return undefined;
    },
  });

  api.add({
    method: 'get',
    path: '/datasets/:name/direct-url',
    tag: 'data',
    summary: 'A short-lived presigned URL to the current file, only when nothing is masked for you and the object store can presign (S3); 409 otherwise (audited)',
    params: nameParam,
    query: z.object({ ttl: z.coerce.number().int().min(1).max(300).default(60).describe('Seconds the URL stays valid (never past the grant)') }),
    response: z.object({ url: z.string(), expiresAt: z.number(), format: z.enum(FORMATS), version: z.number() }),
    authorize: { who: signedIn, credentials: READERS, also: POLICY },
    handler: async ({ identity, params, query, req }) => data.directUrl(subject(identity), params.name, query.ttl, readContext(req, 'direct', identity)),
  });

  api.add({
    method: 'post',
    path: '/datasets/:name/mount',
    tag: 'data',
    summary: 'Mount the dataset read-only at ~/datasets/<name>/ in your workspaces, masked as your access requires (audited)',
    params: nameParam,
    response: z.object({
      path: z.string(),
      maskedColumns: z.array(z.string()),
      version: z.number(),
      expiresAt: z.number().nullable(),
      delivery: z.enum(['local', 'agent']).describe('`local`: the files are in place; `agent`: the workspace agent copies them in within seconds'),
    }),
    authorize: { who: signedIn, credentials: MOUNTERS, also: POLICY },
    handler: async ({ identity, params, req }) => data.mount(subject(identity), params.name, readContext(req, 'mount', identity)),
  });

  api.add({
    method: 'delete',
    path: '/datasets/:name/mount',
    tag: 'data',
    summary: 'Remove the dataset from ~/datasets/ in your workspaces',
    params: nameParam,
    authorize: { who: signedIn, credentials: MOUNTERS },
    handler: async ({ identity, params }) => {
      await data.unmount(subject(identity), params.name);
      return undefined;
    },
  });

  api.add({
    method: 'post',
    path: '/datasets/:name/requests',
    tag: 'data',
    summary: 'Ask for access with a purpose (confidential, restricted, or PII clearance); restricted needs expiresAt',
    params: nameParam,
    body: z
      .object({
        purpose,
        pii: z.boolean().default(false).describe('Ask for PII clearance (columns unmasked)'),
        expiresAt: when.nullable().default(null).describe('When the access should end (required for restricted data)'),
        team: z.string().max(63).nullable().default(null).describe('Ask for your whole team instead of yourself'),
      })
      .strict(),
    status: 201,
    response: requestOut,
    authorize: { who: signedIn, also: 'A request for a team needs the caller in that team.' },
    handler: async ({ identity, params, body }) => requestJson(await data.requestAccess(subject(identity), params.name, body)),
  });

  api.add({
    method: 'get',
    path: '/datasets/:name/grants',
    tag: 'data',
    summary: 'Grants of a dataset (owners see all, including revoked and expired; others their own)',
    params: nameParam,
    response: z.array(grantOut),
    authorize: { who: signedIn, also: 'Owners (admins of the owning team, platform admins) see every grant; others their own.' },
    handler: async ({ identity, params }) => (await data.grants(subject(identity), params.name)).map(grantJson),
  });

  api.add({
    method: 'post',
    path: '/datasets/:name/grants',
    tag: 'data',
    summary: 'Grant access directly to a user or team (owning team admins; restricted: platform admins, with an end date)',
    params: nameParam,
    body: z
      .object({
        granteeKind: z.enum(['user', 'team']),
        grantee: z.string().min(1).max(64),
        piiCleared: z.boolean().default(false),
        purpose,
        expiresAt: when.nullable().default(null),
      })
      .strict(),
    status: 201,
    response: grantOut,
    authorize: { who: teamAdminOrPlatformAdmin(datasetTeam), also: 'Restricted data: platform admins only, with an end date.' },
    handler: async ({ identity, params, body }) => grantJson(await data.grant(subject(identity), params.name, body)),
  });

  api.add({
    method: 'delete',
    path: '/datasets/:name/grants/:id',
    tag: 'data',
    summary: 'Revoke a grant; mounts that depended on it disappear from running workspaces at once',
    params: z.object({ name: datasetName, id: z.coerce.number().int().min(1).max(2 ** 31) }),
    authorize: { who: teamAdminOrPlatformAdmin(datasetTeam) },
    handler: async ({ identity, params }) => {
      await data.revoke(subject(identity), params.name, params.id);
      return undefined;
    },
  });

}
