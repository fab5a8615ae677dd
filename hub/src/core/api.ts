import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { RequestIdentity } from './caller.js';
import { authorizeJson, type Authorize, checkCredential, checkRule, describeAuthorize } from './authorization.js';
import { ApiError, badRequest } from './errors.js';
import { log } from './log.js';
import { hoistSchemaDefinitions } from './openapi-defs.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteContext<P, Q, B> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  /** Present unless the route is public. */
  identity: RequestIdentity;
}

export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** Express-style path below /hub/api, e.g. `/users/:name`. */
  path: string;
  /**
   * Older paths of the same route, kept for clients that use them: they run
   * the same declaration and are marked deprecated in the document.
   */
  aliases?: readonly string[];
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Documented response body. */
  response?: z.ZodType;
  /** Success status; default 204 (no body) for DELETE, 200 otherwise. */
  status?: number;
  /**
   * Who may call it (hub/src/core/authorization.ts); enforced before the
   * handler runs, so handlers do not repeat it.
   */
  authorize: Authorize;
  /**
   * Content types of a non-JSON answer (server-sent events, file downloads);
   * such handlers write `res` themselves and return undefined.
   */
  produces?: string[];
  handler: (ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>>) => Promise<unknown>;
}

/** One rule for the runtime and the document, so they cannot disagree. */
function successStatus(spec: RouteSpec): number {
  return spec.status ?? (spec.method === 'delete' ? 204 : 200);
}

/** Turn the first zod issue into our error shape, naming the field. */
export function validationError(error: z.ZodError, where: 'body' | 'query' | 'path'): ApiError {
  const issue = error.issues[0]!;
  const field = issue.path.map(String).join('.');
  const prefix = field ? `${field}: ` : where === 'body' ? 'request body: ' : '';
  return badRequest(`${prefix}${issue.message}`, field || undefined);
}

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, where: 'body' | 'query' | 'path'): z.infer<T> {
  if (!schema) return value as z.infer<T>;
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, where);
  return result.data;
}

/**
 * An alias path may name its parameters as the old API did
 * (`/servers/:server` for `/workspaces/:workspace`); they match the
 * declaration's by position. Maps the alias's names to the declaration's.
 */
function paramNames(declared: string, primary: string): Map<string, string> {
  const names = (path: string) => [...path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!);
  const ours = names(primary);
  const theirs = names(declared);
  if (ours.length !== theirs.length) throw new Error(`alias ${declared} must have the parameters of ${primary}`);
  return new Map(theirs.map((name, i) => [name, ours[i]!]));
}

function renamed(values: Record<string, unknown>, names: Map<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [names.get(k) ?? k, v]));
}

/** Path parameters as the caller's path names them, so a 400 names the field they sent. */
function parseParams<T extends z.ZodType>(schema: T | undefined, value: Record<string, unknown>, names: Map<string, string>): z.infer<T> {
  try {
    return parse(schema, renamed(value, names), 'path');
  } catch (err) {
    const back = new Map([...names].map(([alias, ours]) => [ours, alias]));
    if (err instanceof ApiError && err.field && back.has(err.field) && back.get(err.field) !== err.field) {
      const field = back.get(err.field)!;
      throw new ApiError(err.status, err.code, err.message.replace(new RegExp(`^${err.field}: `), `${field}: `), field);
    }
    throw err;
  }
}

/**
 * Routes are declared once, with their schemas; the same declaration
 * validates requests and produces the OpenAPI document, so the two cannot
 * drift apart.
 */
export class ApiRegistry {
  readonly routes: RouteSpec[] = [];

  add<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(spec: RouteSpec<P, Q, B>): void {
    this.routes.push(spec as unknown as RouteSpec);
  }

  mount(router: Router): void {
    for (const spec of this.routes) {
      for (const declared of [spec.path, ...(spec.aliases ?? [])]) this.mountOne(router, spec, declared);
    }
  }

  private mountOne(router: Router, spec: RouteSpec, declared: string): void {
    const names = paramNames(declared, spec.path);
    router[spec.method](declared, async (req: Request, res: Response) => {
      const identity = res.locals.identity as RequestIdentity | undefined;
      checkCredential(spec.authorize, identity);
      const params = parseParams(spec.params, req.params, names);
      const query = parse(spec.query, req.query, 'query');
      let rawBody: unknown = req.body;
      if (spec.body && rawBody === undefined) {
        // express.json() leaves the body undefined for other content types.
        const sentBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
        if (sentBody) throw new ApiError(415, 'unsupported_media_type', 'Send the request body as JSON (Content-Type: application/json).');
        rawBody = {};
      }
      const body = parse(spec.body, rawBody, 'body');
      await checkRule(spec.authorize, identity?.user, { params: params as Record<string, unknown>, query: query as Record<string, unknown>, body });
      let result = await spec.handler({ req, res, params, query, body, identity: identity! });
      if (res.headersSent) return;
      if (result !== undefined && spec.response) {
        // Answer exactly what the document promises: fields a handler adds
        // beyond the response schema are dropped. A mismatch is a bug; it is
        // logged, and the answer still goes out.
        const checked = spec.response.safeParse(result);
        if (checked.success) result = checked.data;
        else log.warn('response does not match its schema', { route: `${spec.method.toUpperCase()} ${spec.path}`, issue: checked.error.issues[0]?.message });
      }
      if (result === undefined) {
        res.status(successStatus(spec)).end();
        return;
      }
      res.status(successStatus(spec)).json(result);
    });
  }

  /** Methods declared for a path, for 405 answers to the others. */
  allowedMethods(path: string): string[] {
    const methods = new Set<string>();
    for (const spec of this.routes) {
      for (const declared of [spec.path, ...(spec.aliases ?? [])]) {
        const pattern = new RegExp(`^${declared.replace(/:[A-Za-z_]+/g, '[^/]+')}/?$`);
        if (pattern.test(path)) methods.add(spec.method.toUpperCase());
      }
    }
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods];
  }

  openapi(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const spec of this.routes) {
      for (const declared of [spec.path, ...(spec.aliases ?? [])]) {
        const deprecated = declared !== spec.path;
        (paths[openApiPath(declared)] ??= {})[spec.method] = this.operation(spec, declared, deprecated);
      }
    }
    return hoistSchemaDefinitions({
      openapi: '3.1.0',
      info: { ...info, description: 'REST API of the Atrium hub. Authenticate with `Authorization: token <personal API token>` or a browser session (then send the `X-XSRF-Token` header on state-changing requests).' },
      servers: [{ url: '/' }],
      security: [{ apiToken: [] }, { session: [] }],
      paths,
      components: {
        securitySchemes: {
          apiToken: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'token <personal API token>' },
          session: { type: 'apiKey', in: 'cookie', name: 'atrium-session' },
        },
        schemas: { Error: toSchema(errorSchema, 'output') },
        responses: {
          Error: { description: 'A problem with the request', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
      },
    });
  }

  /** One operation of the document; an alias path is the same operation, deprecated. */
  private operation(spec: RouteSpec, declared: string, deprecated: boolean): Record<string, unknown> {
    const openPath = openApiPath(declared);
    const operation: Record<string, unknown> = {
      summary: spec.summary,
      description: [describeAuthorize(spec.authorize), deprecated ? `Deprecated: use ${openApiPath(spec.path)}.` : ''].filter(Boolean).join(' '),
      tags: [spec.tag],
      operationId: `${spec.method}${openPath.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      parameters: [
        ...objectParameters(spec.params, 'path').map((p) => ({ ...p, name: aliasNameOf(p.name as string, declared, spec.path) })),
        ...objectParameters(spec.query, 'query'),
      ],
      responses: {
        [String(successStatus(spec))]: {
          description: 'Success',
          ...(spec.produces
            ? { content: Object.fromEntries(spec.produces.map((type) => [type, { schema: { type: 'string' } }])) }
            : successStatus(spec) === 204
              ? {}
              : { content: { 'application/json': { schema: spec.response ? toSchema(spec.response, 'output') : {} } } }),
        },
        '4XX': { $ref: '#/components/responses/Error' },
      },
      ...(spec.authorize.who.kind === 'anyone' ? { security: [] } : {}),
      ...(deprecated ? { deprecated: true } : {}),
      'x-atrium-authorize': authorizeJson(spec.authorize),
    };
    if (spec.body) {
      // A body whose fields all have defaults may be omitted.
      operation.requestBody = { required: !spec.body.safeParse({}).success, content: { 'application/json': { schema: toSchema(spec.body, 'input') } } };
    }
    return operation;
  }
}

/** The name an alias path gives a declared parameter. */
function aliasNameOf(name: string, declared: string, primary: string): string {
  for (const [alias, ours] of paramNames(declared, primary)) if (ours === name) return alias;
  return name;
}

/** `/users/:name` → `/hub/api/users/{name}`. */
function openApiPath(path: string): string {
  return '/hub/api' + path.replace(/:([A-Za-z_]+)/g, '{$1}');
}

export const errorSchema = z.object({
  error: z.object({
    code: z.string().describe('Stable machine-readable code, e.g. `invalid_request`, `quota_exceeded`'),
    message: z.string().describe('What happened and what to do next, for people'),
    field: z.string().optional().describe('The request field at fault, when there is one'),
  }),
});

function toSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

function objectParameters(schema: z.ZodType | undefined, location: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return [];
  const json = toSchema(schema, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, prop]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    ...(prop.description ? { description: prop.description } : {}),
    schema: prop,
  }));
}
