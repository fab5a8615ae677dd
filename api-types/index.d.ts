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

// ---- workspaces (`servers` in the API's paths) ----
export type Workspace = ApiResponse<'get', '/hub/api/users/{name}/servers/{server}'>;

// ---- knowledge base ----
export type ArticleSearchQuery = ApiQuery<'get', '/hub/api/kb/search'>;
export type ArticleSearch = ApiResponse<'get', '/hub/api/kb/search'>;
export type ArticleSearchResult = ArticleSearch['results'][number];
export type ArticleFacets = ApiResponse<'get', '/hub/api/kb/facets'>;
export type ArticleFacet = ArticleFacets['tags'][number];
export type Article = ApiResponse<'get', '/hub/api/kb/articles/{id}'>;
export type ArticleKind = Article['kind'];
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
