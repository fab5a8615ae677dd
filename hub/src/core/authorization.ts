/**
 * Who may do what: the one place the hub's permission rules live.
 *
 * Three parts:
 * - predicates over a plain actor (`{ name, platformAdmin, teams }`, the
 *   shape of a signed-in user and of the data policy's Subject), which
 *   services ask for finer, per-row decisions;
 * - the credential a request came with (browser session, personal API
 *   token, a workspace's server token, a notebook re-run's token, a
 *   model-scoped token), because machine credentials may call only the few
 *   routes that say so;
 * - the `authorize` declaration every API route carries (hub/src/core/api.ts):
 *   plain data saying which credentials and which people may call it, in terms
 *   of roles, teams (from the path, query, body or a looked-up resource's
 *   owner) and ownership. The registry enforces it before the handler runs,
 *   puts it in the OpenAPI document (`x-atrium-authorize`) and in
 *   docs/authorization.md, and the authorization matrix test walks it.
 */
import type { RequestIdentity, TeamRole } from './caller.js';
import { ApiError, forbidden, notFound, unauthorized } from './errors.js';

// ---- actors and predicates --------------------------------------------------

export type { TeamRole } from './caller.js';

/** A person as the rules see them: a signed-in user, or the data policy's Subject. */
export interface Actor {
  name: string;
  platformAdmin: boolean;
  teams: readonly { team: string; role: TeamRole }[];
}

export function isPlatformAdmin(actor: Actor): boolean {
  return actor.platformAdmin;
}

/** In the team, with any role (platform admins are not members by their role alone). */
export function isMemberOf(actor: Actor, team: string): boolean {
  return actor.teams.some((m) => m.team === team);
}

/** Holds the team-admin role in the team (platform admins do not by their role alone). */
export function isTeamAdminOf(actor: Actor, team: string): boolean {
  return actor.teams.some((m) => m.team === team && m.role === 'team-admin');
}

/** Sees a team's models, deployments and approvals: its members and platform admins. */
export function canSeeTeam(actor: Actor, team: string): boolean {
  return actor.platformAdmin || isMemberOf(actor, team);
}

/** Acts for a team (members, its articles, its datasets): its admins and platform admins. */
export function canAdministerTeam(actor: Actor, team: string): boolean {
  return actor.platformAdmin || isTeamAdminOf(actor, team);
}

/** Administers at least one team (or the platform): may register datasets somewhere. */
export function administersSomeTeam(actor: Actor): boolean {
  return actor.platformAdmin || isAdminOfSomeTeam(actor);
}

/** The teams an actor administers by role (platform admins: the caller lists every team themselves). */
export function teamsAdministeredBy(actor: Actor): string[] {
  return actor.teams.filter((m) => m.role === 'team-admin').map((m) => m.team);
}

export function isSelf(actor: Actor, user: string): boolean {
  return actor.name === user;
}

/** People act on their own account and workspaces; platform admins on anyone's. */
export function isSelfOrPlatformAdmin(actor: Actor, user: string): boolean {
  return isSelf(actor, user) || actor.platformAdmin;
}

/** Holds the team-admin role in at least one team (platform admins do not by their role alone). */
export function isAdminOfSomeTeam(actor: Actor): boolean {
  return teamsAdministeredBy(actor).length > 0;
}

// ---- datasets --------------------------------------------------------------

/** A dataset's owners: admins of its owning team, and platform admins. */
export function canManageDataset(actor: Actor, dataset: { ownerTeam: string }): boolean {
  return canAdministerTeam(actor, dataset.ownerTeam);
}

// ---- models -----------------------------------------------------------------

/**
 * See a team's models, versions, promotions and history, publish to the team
 * and ask for its production approvals: the team's members (and platform
 * admins). Everyone else must not even learn which models exist.
 */
export function mayWorkWithModelsOf(actor: Actor, team: string): boolean {
  return canSeeTeam(actor, team);
}

/**
 * Promote to or roll back an alias. Staging is the team's; production serves
 * real decisions, so it needs a team admin (or a platform admin).
 */
export function mayMoveAlias(actor: Actor, team: string, alias: 'staging' | 'production'): boolean {
  if (!mayWorkWithModelsOf(actor, team)) return false;
  return alias !== 'production' || canAdministerTeam(actor, team);
}

/** The teams whose models, deployments and approvals a listing shows: all of them (undefined) for platform admins, else the actor's own. */
export function teamsVisibleTo(actor: Actor): string[] | undefined {
  return actor.platformAdmin ? undefined : actor.teams.map((m) => m.team);
}

/** Approve, reject or revoke production approvals for restricted data: platform admins only. */
export function mayDecideApprovals(actor: Actor): boolean {
  return actor.platformAdmin;
}

/** Decide one request: a platform admin other than its requester (four eyes). */
export function mayDecideApproval(actor: Actor, approval: { requestedBy: string }): boolean {
  return mayDecideApprovals(actor) && approval.requestedBy !== actor.name;
}

// ---- notebook jobs ----------------------------------------------------------

/** See a team's jobs and how their runs went: the team's members (and platform admins). */
export function maySeeJobsOf(actor: Actor, team: string): boolean {
  return canSeeTeam(actor, team);
}

/**
 * Change what a job runs (its notebook, parameters, image, size, schedule,
 * timeout, retries, webhook): its owner only, because its runs read data as
 * the owner. Anyone else changing the code would read with the owner's grants.
 */
export function mayChangeJob(actor: Actor, job: { owner: string }): boolean {
  return isSelf(actor, job.owner);
}

/** Run it now, pause or resume it, cancel a run, delete it: the owner, the team's admins and platform admins. */
export function mayOperateJob(actor: Actor, job: { owner: string; team: string }): boolean {
  return isSelf(actor, job.owner) || canAdministerTeam(actor, job.team);
}

/**
 * Read a run's executed notebook, output files and log: the owner only. They
 * hold what the owner's grants let the notebook read, unmasked where the
 * owner is cleared; results meant for others go into the catalog, where the
 * data policy applies to every reader.
 */
export function maySeeRunResults(actor: Actor, job: { owner: string }): boolean {
  return isSelf(actor, job.owner);
}

// ---- credentials ------------------------------------------------------------

/**
 * How a request proved who it is. `session` and `personal-token` are the
 * person; the others are machines acting for them with narrow rights:
 * - `workspace-token`: code in a workspace, with its server's own token (the
 *   data API's reads and mounts only: a notebook must not approve anything
 *   in its user's name);
 * - `rerun-token`: a clean re-run of a published notebook, a model server
 *   starting, or a notebook job's run, reading data as the version's author
 *   (the job's owner);
 * - `model-token`: an API token scoped to one model, for its predict URLs
 *   (hub/src/serving/predict-route.ts); the rest of the hub treats it as no
 *   credential at all, so a leaked serving token opens nothing else.
 */
export const CREDENTIALS = ['session', 'personal-token', 'workspace-token', 'rerun-token', 'model-token'] as const;
export type Credential = (typeof CREDENTIALS)[number];

/** What a person uses: every route accepts these unless it says otherwise. */
export const PERSONAL: readonly Credential[] = ['session', 'personal-token'];

export function credentialOf(identity: RequestIdentity): Credential {
  if (identity.rerun) return 'rerun-token';
  if (identity.workspace) return 'workspace-token';
  if (identity.tokenScope) return 'model-token';
  return identity.via === 'session' ? 'session' : 'personal-token';
}

export const WORKSPACE_TOKEN_REFUSAL =
  'Code in a workspace may only read data you have access to and manage your mounts. Ask for access, approve, grant, revoke or change a dataset from the hub’s Data page or the Datasets panel, or with a personal API token.';
const RERUN_REFUSAL = 'A notebook run (the re-run of a published notebook, or a job’s run) may only read data its author or owner may read.';

function refuseCredential(credential: Credential, accepted: readonly Credential[]): ApiError {
  switch (credential) {
    case 'workspace-token':
      return new ApiError(403, 'workspace_token_not_allowed', WORKSPACE_TOKEN_REFUSAL);
    case 'rerun-token':
      return new ApiError(403, 'rerun_not_allowed', RERUN_REFUSAL);
    case 'model-token':
      return new ApiError(403, 'model_token_not_allowed', 'A token scoped to a model only calls its predict URLs; use a personal API token here.');
    default:
      return forbidden(`Only ${listOf(accepted.map(credentialWords))} may call this.`);
  }
}

function credentialWords(credential: Credential): string {
  return {
    session: 'a browser session',
    'personal-token': 'a personal API token',
    'workspace-token': "code in a workspace with its server's own token (X-Atrium-Workspace)",
    'rerun-token': 'a notebook run (a re-run or a job’s run) reading as its author or owner',
    'model-token': 'a token scoped to the model',
  }[credential];
}

// ---- declarations -----------------------------------------------------------

/** Where a rule finds the team it is about. */
export type TeamRef =
  | { from: 'param' | 'query' | 'body'; field: string; optional?: boolean }
  | {
      from: 'resource';
      /** What is looked up, in words ("dataset"). */
      resource: string;
      /** The path parameter naming it. */
      param: string;
      /** Its owning team; throws the route's own 404 (or 409) when there is no such resource. */
      owner: (id: string) => Promise<string>;
    };

export type Rule =
  | { kind: 'anyone' }
  | { kind: 'signed-in' }
  | { kind: 'platform-admin' }
  | { kind: 'admin-of-some-team' }
  | { kind: 'self'; param: string }
  | { kind: 'member' | 'team-admin'; team: TeamRef }
  | { kind: 'any-of' | 'all-of'; rules: readonly Rule[] };

/** Who may call a route. */
export interface Authorize {
  who: Rule;
  /** Credentials accepted (default: a session or a personal API token). */
  credentials?: readonly Credential[];
  /**
   * Refuse with 404 and this message instead of 403, where answering 403
   * would tell an outsider that the resource exists.
   */
  hide?: (params: Record<string, unknown>) => string;
  /** Finer rules the service applies per resource, in words (they do not widen `who`). */
  also?: string;
}

export const anyone: Rule = { kind: 'anyone' };
export const signedIn: Rule = { kind: 'signed-in' };
export const platformAdmin: Rule = { kind: 'platform-admin' };
export const adminOfSomeTeam: Rule = { kind: 'admin-of-some-team' };
export const self = (param: string): Rule => ({ kind: 'self', param });
export const member = (team: TeamRef): Rule => ({ kind: 'member', team });
export const teamAdmin = (team: TeamRef): Rule => ({ kind: 'team-admin', team });
export const anyOf = (...rules: Rule[]): Rule => ({ kind: 'any-of', rules });
export const allOf = (...rules: Rule[]): Rule => ({ kind: 'all-of', rules });

export const team = {
  param: (field: string): TeamRef => ({ from: 'param', field }),
  /** A query field; a request without it is not about a team, so the rule holds. */
  query: (field: string): TeamRef => ({ from: 'query', field, optional: true }),
  body: (field: string, options: { optional?: boolean } = {}): TeamRef => ({ from: 'body', field, ...(options.optional ? { optional: true } : {}) }),
  ownerOf: (resource: string, param: string, owner: (id: string) => Promise<string>): TeamRef => ({ from: 'resource', resource, param, owner }),
};

/** The common shapes, so route files read as sentences. */
export const selfOrPlatformAdmin = (param: string): Rule => anyOf(self(param), platformAdmin);
export const teamAdminOrPlatformAdmin = (ref: TeamRef): Rule => anyOf(teamAdmin(ref), platformAdmin);
export const memberOrPlatformAdmin = (ref: TeamRef): Rule => anyOf(member(ref), platformAdmin);

export interface RequestInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
}

/**
 * The first half of enforcement, before the request is parsed: anonymous
 * callers get 401 unless anyone may call; machine credentials not listed get
 * their refusal.
 */
export function checkCredential(authorize: Authorize, identity: RequestIdentity | undefined): void {
  if (!identity) {
    if (authorize.who.kind !== 'anyone') throw unauthorized();
    return;
  }
  const accepted = authorize.credentials ?? PERSONAL;
  const credential = credentialOf(identity);
  if (!accepted.includes(credential)) throw refuseCredential(credential, accepted);
}

/** The second half, once params, query and body are valid: does the caller fit `who`? */
export async function checkRule(authorize: Authorize, actor: Actor | undefined, input: RequestInput): Promise<void> {
  if (authorize.who.kind === 'anyone') return;
  if (!actor) throw unauthorized();
  const teams = new TeamResolver(input);
  if (await holds(authorize.who, actor, teams)) return;
  if (authorize.hide) throw notFound(authorize.hide(input.params));
  throw forbidden(`Only ${await describeFor(authorize.who, teams)} can do this.`);
}

/** Does `actor` satisfy `rule`? Resource owners are looked up once per request. */
async function holds(rule: Rule, actor: Actor, teams: TeamResolver): Promise<boolean> {
  switch (rule.kind) {
    case 'anyone':
    case 'signed-in':
      return true;
    case 'platform-admin':
      return isPlatformAdmin(actor);
    case 'admin-of-some-team':
      return administersSomeTeam(actor);
    case 'self':
      return isSelf(actor, String(teams.input.params[rule.param]));
    case 'member':
    case 'team-admin': {
      const name = await teams.resolve(rule.team);
      if (name === undefined) return true;
      return rule.kind === 'member' ? isMemberOf(actor, name) : isTeamAdminOf(actor, name);
    }
    case 'any-of':
      for (const r of rule.rules) if (await holds(r, actor, teams)) return true;
      return false;
    case 'all-of':
      for (const r of rule.rules) if (!(await holds(r, actor, teams))) return false;
      return true;
  }
}

class TeamResolver {
  private readonly owners = new Map<string, Promise<string>>();
  constructor(readonly input: RequestInput) {}

  /** The team a reference names in this request; undefined when an optional field is absent. */
  async resolve(ref: TeamRef): Promise<string | undefined> {
    if (ref.from === 'resource') {
      const id = String(this.input.params[ref.param]);
      const key = `${ref.resource}\0${id}`;
      let owner = this.owners.get(key);
      if (!owner) this.owners.set(key, (owner = ref.owner(id)));
      return owner;
    }
    const source = ref.from === 'param' ? this.input.params : ref.from === 'query' ? this.input.query : (this.input.body as Record<string, unknown> | undefined) ?? {};
    const value = source[ref.field];
    if (value === undefined || value === null || value === '') {
      // A required team field was validated by the route's schema; absent means "not about a team".
      return ref.optional ? undefined : '';
    }
    return String(value);
  }
}

// ---- in words and as data ---------------------------------------------------

function listOf(parts: string[]): string {
  const unique = [...new Set(parts)];
  if (unique.length <= 1) return unique[0] ?? '';
  return `${unique.slice(0, -1).join(', ')} or ${unique.at(-1)}`;
}

function teamWords(ref: TeamRef): string {
  switch (ref.from) {
    case 'param':
      return `the team in the path ({${ref.field}})`;
    case 'query':
      return `the team in ?${ref.field} (when given)`;
    case 'body':
      return `the team in the body's ${ref.field}${ref.optional ? ' (when given)' : ''}`;
    case 'resource':
      return `the team owning the ${ref.resource}`;
  }
}

/** Who a rule lets in, in words, for the document and docs/authorization.md. */
export function describeRule(rule: Rule): string {
  switch (rule.kind) {
    case 'anyone':
      return 'anyone, signed in or not';
    case 'signed-in':
      return 'every signed-in user';
    case 'platform-admin':
      return 'platform admins';
    case 'admin-of-some-team':
      return 'admins of any team';
    case 'self':
      return `the user named in the path ({${rule.param}})`;
    case 'member':
      return `members of ${teamWords(rule.team)}`;
    case 'team-admin':
      return `admins of ${teamWords(rule.team)}`;
    case 'any-of':
      return listOf(rule.rules.map(describeRule));
    case 'all-of':
      return `both ${rule.rules.map((r) => `(${describeRule(r)})`).join(' and ')}`;
  }
}

/** The same, with this request's teams and names filled in, for refusals. */
async function describeFor(rule: Rule, teams: TeamResolver): Promise<string> {
  switch (rule.kind) {
    case 'self':
      return `${String(teams.input.params[rule.param])} themselves`;
    case 'member':
    case 'team-admin': {
      const name = await teams.resolve(rule.team);
      return `${rule.kind === 'member' ? 'members' : 'admins'} of team ${name ?? '?'}`;
    }
    case 'any-of':
      return listOf(await Promise.all(rule.rules.map((r) => describeFor(r, teams))));
    case 'all-of':
      return `those who are both ${(await Promise.all(rule.rules.map(async (r) => `(${await describeFor(r, teams)})`))).join(' and ')}`;
    default:
      return describeRule(rule);
  }
}

/** A sentence for a route's description: who may call it, with which credentials. */
export function describeAuthorize(authorize: Authorize): string {
  const who = describeRule(authorize.who);
  const credentials = authorize.credentials ?? PERSONAL;
  const machines = credentials.filter((c) => !PERSONAL.includes(c));
  const personal = PERSONAL.every((c) => credentials.includes(c));
  let sentence = `Who may call: ${who}`;
  if (!personal) sentence += `, only as ${listOf(credentials.map(credentialWords))}`;
  else if (machines.length > 0) sentence += `; also ${listOf(machines.map(credentialWords))}`;
  sentence += '.';
  if (authorize.hide) sentence += ' Others get 404, as if it did not exist.';
  if (authorize.also) sentence += ` ${authorize.also}`;
  return sentence;
}

/** JSON form of a rule (lookups named, not included), for `x-atrium-authorize`. */
export type RuleJson =
  | { anyone: true }
  | { signedIn: true }
  | { platformAdmin: true }
  | { adminOfSomeTeam: true }
  | { self: { param: string } }
  | { member: TeamRefJson }
  | { teamAdmin: TeamRefJson }
  | { anyOf: RuleJson[] }
  | { allOf: RuleJson[] };
export type TeamRefJson = { param: string } | { query: string } | { body: string; optional?: true } | { ownerOf: { resource: string; param: string } };

function teamRefJson(ref: TeamRef): TeamRefJson {
  switch (ref.from) {
    case 'param':
      return { param: ref.field };
    case 'query':
      return { query: ref.field };
    case 'body':
      return { body: ref.field, ...(ref.optional ? { optional: true as const } : {}) };
    case 'resource':
      return { ownerOf: { resource: ref.resource, param: ref.param } };
  }
}

export function ruleJson(rule: Rule): RuleJson {
  switch (rule.kind) {
    case 'anyone':
      return { anyone: true };
    case 'signed-in':
      return { signedIn: true };
    case 'platform-admin':
      return { platformAdmin: true };
    case 'admin-of-some-team':
      return { adminOfSomeTeam: true };
    case 'self':
      return { self: { param: rule.param } };
    case 'member':
      return { member: teamRefJson(rule.team) };
    case 'team-admin':
      return { teamAdmin: teamRefJson(rule.team) };
    case 'any-of':
      return { anyOf: rule.rules.map(ruleJson) };
    case 'all-of':
      return { allOf: rule.rules.map(ruleJson) };
  }
}

export interface AuthorizeJson {
  who: RuleJson;
  credentials: Credential[];
  refusal: 403 | 404;
  also?: string;
}

export function authorizeJson(authorize: Authorize): AuthorizeJson {
  return {
    who: ruleJson(authorize.who),
    credentials: [...(authorize.credentials ?? PERSONAL)],
    refusal: authorize.hide ? 404 : 403,
    ...(authorize.also ? { also: authorize.also } : {}),
  };
}
