/**
 * Types of the hub's REST API for its clients (the JupyterLab extension, the
 * hub's page scripts). Every shape comes from ./openapi.d.ts, which is
 * generated from the hub's route schemas (`npm run api-types`); this file only
 * gives the operations' parts and their pieces a name. Never restate a
 * response shape by hand: derive it here.
 *
 * Import with `import type` only: this folder holds declarations, no code.
 */
import type { components, operations, paths } from './openapi.js';

export type { components, operations, paths };

/** The HTTP methods of the hub's API. */
export type ApiMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The documented paths (`/hub/api/…`, parameters in braces) that answer `M`. */
export type ApiPath<M extends ApiMethod = ApiMethod> = {
  [P in keyof paths]: undefined extends paths[P][M] ? never : P;
}[keyof paths];

/** The operation `M P` as the OpenAPI document describes it. */
export type ApiOperation<M extends ApiMethod, P extends ApiPath<M>> = NonNullable<paths[P][M]>;

type SuccessStatus = 200 | 201 | 202 | 204;
type Responses<M extends ApiMethod, P extends ApiPath<M>> = ApiOperation<M, P>['responses'];
type SuccessResponse<M extends ApiMethod, P extends ApiPath<M>> = Responses<M, P>[Extract<keyof Responses<M, P>, SuccessStatus>];

/** What a successful call answers: its JSON body, `undefined` for 204 No Content. */
export type ApiResponse<M extends ApiMethod, P extends ApiPath<M>> =
  SuccessResponse<M, P> extends { content: { 'application/json': infer T } } ? T : undefined;

/** The JSON body the call takes (`never`: it takes none). */
export type ApiBody<M extends ApiMethod, P extends ApiPath<M>> =
  NonNullable<ApiOperation<M, P>['requestBody']> extends { content: { 'application/json': infer B } } ? B : never;

/** The query parameters the call takes. */
export type ApiQuery<M extends ApiMethod, P extends ApiPath<M>> = NonNullable<ApiOperation<M, P>['parameters']['query']>;

/** The path parameters (the braces in `P`). */
export type ApiPathParams<M extends ApiMethod, P extends ApiPath<M>> = NonNullable<ApiOperation<M, P>['parameters']['path']>;

/** Every failure's body: `{ error: { code, message, field? } }`. */
export type ApiErrorBody = components['schemas']['Error'];

// ---- identity ----
/** The signed-in user, with teams and roles. */
export type HubUser = ApiResponse<'get', '/hub/api/user'>;
export type TeamMembership = HubUser['teams'][number];
/** `X-XSRF-Token` for state-changing calls made with the browser session. */
export type XsrfToken = ApiResponse<'get', '/hub/api/session/xsrf'>;
/** A user account as platform admins list them. */
export type UserAccount = ApiResponse<'get', '/hub/api/users'>[number];
export type NewUser = ApiBody<'post', '/hub/api/users'>;
export type UserChange = ApiBody<'patch', '/hub/api/users/{name}'>;
export type ApiToken = ApiResponse<'get', '/hub/api/users/{name}/tokens'>[number];
export type NewTokenRequest = ApiBody<'post', '/hub/api/users/{name}/tokens'>;
/** A token just created: the only answer that holds its secret. */
export type NewToken = ApiResponse<'post', '/hub/api/users/{name}/tokens'>;

// ---- teams ----
export type Team = ApiResponse<'get', '/hub/api/teams/{team}'>;
export type TeamMember = Team['members'][number];
export type TeamRole = TeamMember['role'];
export type NewTeam = ApiBody<'post', '/hub/api/teams'>;
export type MembershipChange = ApiBody<'put', '/hub/api/teams/{team}/members/{user}'>;

// ---- workspaces ----
export type Workspace = ApiResponse<'get', '/hub/api/users/{name}/workspaces/{workspace}'>;
export type WorkspaceStatus = Workspace['status'];
export type StartWorkspaceRequest = ApiBody<'post', '/hub/api/users/{name}/workspaces/{workspace}'>;
/** The images and sizes a workspace can start with. */
export type WorkspaceCatalog = ApiResponse<'get', '/hub/api/images'>;
export type WorkspaceImage = WorkspaceCatalog['images'][number];
export type WorkspaceSize = WorkspaceCatalog['sizes'][number];
/** A warm pool: servers started ahead of time for one image and size. */
export type WarmPool = ApiResponse<'get', '/hub/api/warm-pools'>[number];

// ---- knowledge base ----
export type ArticleSearchQuery = ApiQuery<'get', '/hub/api/kb/search'>;
export type ArticleSearch = ApiResponse<'get', '/hub/api/kb/search'>;
export type ArticleSearchResult = ArticleSearch['results'][number];
export type ArticleFacets = ApiResponse<'get', '/hub/api/kb/facets'>;
export type ArticleFacet = ArticleFacets['tags'][number];
export type Article = ApiResponse<'get', '/hub/api/kb/articles/{id}'>;
export type ArticleKind = Article['kind'];
export type ArticleLevel = Article['level'];
/** An article as the list answers it: everything but its body. */
export type ArticleSummary = ApiResponse<'get', '/hub/api/kb/articles'>[number];
export type NewArticle = ApiBody<'post', '/hub/api/kb/articles'>;
export type ArticleChange = ApiBody<'put', '/hub/api/kb/articles/{id}'>;
/** A tutorial's notebook (nbformat 4 JSON). */
export type TutorialNotebook = ApiResponse<'get', '/hub/api/kb/articles/{id}/notebook'>;

// ---- models ----
export type ModelSummary = ApiResponse<'get', '/hub/api/models'>[number];
export type ModelDetail = ApiResponse<'get', '/hub/api/models/{team}/{model}'>;
export type ModelVersion = ApiResponse<'get', '/hub/api/models/{team}/{model}/versions/{version}'>;
export type ModelAlias = ModelDetail['aliases'][number];
export type AliasName = ModelAlias['alias'];
export type ModelCard = ModelVersion['card'];
export type GuardrailResult = ModelVersion['guardrails'][number];
export type GuardrailStatus = GuardrailResult['status'];
/** A promotion: every guardrail runs again, then the version is deployed and the alias moves. */
export type Promotion = ApiResponse<'get', '/hub/api/models/{team}/{model}/promotions/{id}'>;
export type ModelApproval = ModelDetail['approvals'][number];
export type PublishRequest = ApiBody<'post', '/hub/api/models/{team}/{model}/versions'>;
/** A notebook as publishing takes it (nbformat 4 JSON). */
export type PublishedNotebook = PublishRequest['notebook'];
export type PromoteRequest = ApiBody<'post', '/hub/api/models/{team}/{model}/aliases/{alias}'>;
export type Rollback = ApiResponse<'post', '/hub/api/models/{team}/{model}/aliases/{alias}/rollback'>;
/** One change of an alias: a promotion, a rollback or a refused promotion. */
export type AliasEvent = ApiResponse<'get', '/hub/api/models/{team}/{model}/history'>[number];
export type VersionComparison = ApiResponse<'get', '/hub/api/models/{team}/{model}/compare'>;
export type ModelApprovalRequest = ApiBody<'post', '/hub/api/models/{team}/{model}/approvals'>;
/** Approve, reject and revoke take the same body. */
export type ModelApprovalDecision = ApiBody<'post', '/hub/api/model-approvals/{id}/approve'>;
/** A data set a notebook read, from the data audit log. */
export type DatasetUse = ApiResponse<'get', '/hub/api/models/datasets-used'>[number];

// ---- data sets ----
export type DatasetSummary = ApiResponse<'get', '/hub/api/datasets'>[number];
/** How the caller may use a data set, as the hub's policy decided. */
export type DatasetAccess = DatasetSummary['access'];
export type DatasetColumn = DatasetSummary['columns'][number];
export type Classification = DatasetSummary['classification'];
export type DatasetPreview = ApiResponse<'get', '/hub/api/datasets/{name}/preview'>;
export type AccessRequest = ApiResponse<'post', '/hub/api/datasets/{name}/requests'>;
export type AccessRequestInput = ApiBody<'post', '/hub/api/datasets/{name}/requests'>;
export type MountResult = ApiResponse<'post', '/hub/api/datasets/{name}/mount'>;
/** What the hub read from the start of a file: its format and columns, with PII suggested. */
export type DatasetInspection = ApiResponse<'post', '/hub/api/data/inspect'>;
export type InspectedColumn = DatasetInspection['columns'][number];
export type DatasetFormat = DatasetInspection['format'];
export type NewDataset = ApiBody<'post', '/hub/api/datasets'>;
/** A column as the catalog takes it when a data set is registered or changed. */
export type ColumnInput = NewDataset['columns'][number];
export type DatasetChange = ApiBody<'patch', '/hub/api/datasets/{name}'>;
/** The answer to a change: applied, or waiting as `pendingChange` for an approval. */
export type DatasetChangeResult = ApiResponse<'patch', '/hub/api/datasets/{name}'>;
/** A version the upload of a file created. */
export type DatasetVersion = ApiResponse<'put', '/hub/api/datasets/{name}/data'>;
/** An owner's or platform admin's decision on an access request or a catalog change (the same body). */
export type DataDecision = ApiBody<'post', '/hub/api/data/requests/{id}/approve'>;

// ---- notebook jobs ----
/** A job as the list answers it, with its latest run. */
export type JobSummary = ApiResponse<'get', '/hub/api/jobs'>[number];
/** A job with its latest runs, next due times and the notebook's declared parameters. */
export type JobDetail = ApiResponse<'get', '/hub/api/jobs/{team}/{job}'>;
export type JobRun = ApiResponse<'get', '/hub/api/jobs/{team}/{job}/runs/{run}'>;
export type RunStatus = JobRun['status'];
export type RunTrigger = JobRun['trigger'];
/** A name and default value the notebook's cell tagged `parameters` assigns. */
export type DeclaredParameter = JobDetail['declaredParameters'][number];
export type NewJob = ApiBody<'post', '/hub/api/jobs/{team}'>;
export type JobChange = ApiBody<'patch', '/hub/api/jobs/{team}/{job}'>;
/** What "Run now" takes: parameters for this run only (the owner's). */
export type RunNowRequest = ApiBody<'post', '/hub/api/jobs/{team}/{job}/runs'>;
/** A cron expression in words and its next due times in a time zone. */
export type SchedulePreview = ApiResponse<'get', '/hub/api/schedule-preview'>;
/** A run's executed notebook (nbformat 4 JSON), for its owner. */
export type ExecutedNotebook = ApiResponse<'get', '/hub/api/jobs/{team}/{job}/runs/{run}/notebook'>;
export type Notifications = ApiResponse<'get', '/hub/api/notifications'>;
export type HubNotification = Notifications['notifications'][number];

// ---- usage ---------------------------------------------------------------
export type UsageReport = ApiResponse<'get', '/hub/api/usage'>;
export type UsageSeries = UsageReport['series'][number];
export type UsageGroup = UsageReport['groups'][number];
export type UsageWork = UsageReport['topWork'][number];
export type UsageStorage = UsageReport['storage'][number];
export type BudgetStatus = ApiResponse<'get', '/hub/api/usage/budgets'>[number];
export type BudgetChange = ApiBody<'put', '/hub/api/usage/budgets/{team}'>;
export type PoolFigure = ApiResponse<'get', '/hub/api/usage/pool'>;
