/**
 * POST /models/<team>/<model>/<alias>/predict: the hub's fast path to model
 * servers (bypasses Express like the workspace proxy).
 *
 * Only API tokens scoped to that model are accepted (`model:<team>/<model>`,
 * held by a member of the team or a platform admin); sessions and personal
 * tokens are refused with a message saying which token to use. The body is
 * read by the hub up to `maxBodyBytes` (413 beyond), then forwarded with the
 * server's own token over keep-alive connections. The hub answers every
 * failure itself in the hub's JSON error shape: a model's own errors keep
 * their 4xx status, a server failure is a 502, a predict that runs out of
 * time a 504; the hub itself never answers 500 here.
 */
import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { API_TOKEN_PREFIX, type IdentityService } from '../identity/identity.js';
import { log } from '../core/log.js';
import type { DeploymentManager, ModelRoute } from './deployments.js';
import type { ServingMetrics } from './metrics.js';
import { scopeAllowsModel } from './scope.js';

const MODEL_PATH = /^\/models\/([a-z0-9][a-z0-9-]{0,63})\/([a-z0-9][a-z0-9-]{0,63})\/([a-z0-9][a-z0-9-]{0,63})\/predict\/?(?:\?.*)?$/;

export interface PredictRouteOptions {
  /** Largest prediction request body (bytes). */
  maxBodyBytes: number;
  /** How long the hub waits for a model server's answer before a 504 (ms). */
  timeoutMs: number;
  /** The whole body must arrive within this (ms), or the answer is 408 (default 30 s). */
  bodyTimeoutMs?: number;
  /** Predictions in flight per model alias; more are answered 429 at once (default 64). */
  maxInflightPerModel?: number;
  /** Predictions in flight per token; more are answered 429 at once (default 16). */
  maxInflightPerToken?: number;
}

export function parseModelPath(url: string): { team: string; model: string; alias: string } | undefined {
  const m = MODEL_PATH.exec(url);
  return m ? { team: m[1]!, model: m[2]!, alias: m[3]! } : undefined;
}

export class PredictRoute {
  // Keep-alive connections to model servers: most of the throughput.
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64, keepAliveMsecs: 30_000 });
  private readonly inflightByToken = new Map<number, number>();

  constructor(
    private readonly identity: IdentityService,
    private readonly deployments: DeploymentManager,
    private readonly metrics: ServingMetrics,
    private readonly options: PredictRouteOptions,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const parsed = parseModelPath(url);
    if (!parsed) {
      return reply(res, 404, 'not_found', 'Predictions are at POST /models/<team>/<model>/<alias>/predict.');
    }
    const { team, model, alias } = parsed;
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return reply(res, 405, 'method_not_allowed', `Use POST /models/${team}/${model}/${alias}/predict with {"inputs": …}.`);
    }
    const auth = await this.authenticate(req, team, model);
    if ('status' in auth) return reply(res, auth.status, auth.code, auth.message);

    const route = this.deployments.route(team, model, alias);
    if (!route) {
      const unavailable = this.deployments.unavailableReason(team, model, alias);
      if (unavailable) {
        res.setHeader('Retry-After', '10');
        return reply(res, 503, 'model_unavailable', `${team}/${model} (${alias}) is not serving right now: ${unavailable.split('\n')[0]}`);
      }
      return reply(res, 404, 'model_not_deployed', `No version of ${team}/${model} is deployed as "${alias}". Promote a version to ${alias} first.`);
    }
    // One client or one busy model cannot take every connection to the model servers (and the hub's memory).
    const perModel = this.options.maxInflightPerModel ?? 64;
    const perToken = this.options.maxInflightPerToken ?? 16;
    const tokenInflight = this.inflightByToken.get(auth.tokenId) ?? 0;
    if (route.inflight >= perModel || tokenInflight >= perToken) {
      res.setHeader('Retry-After', '1');
      res.setHeader('Connection', 'close');
      const which = route.inflight >= perModel ? `${team}/${model} (${alias}) is answering ${perModel} predictions already` : `this token has ${perToken} predictions in flight already`;
      return reply(res, 429, 'too_many_requests', `Too many predictions at once: ${which}. Retry in a moment, or send fewer at a time.`);
    }
    const started = performance.now();
    route.inflight += 1;
    this.inflightByToken.set(auth.tokenId, tokenInflight + 1);
    let recorded = false;
    const finish = () => {
      if (recorded) return;
      recorded = true;
      route.inflight -= 1;
      const left = (this.inflightByToken.get(auth.tokenId) ?? 1) - 1;
      if (left <= 0) this.inflightByToken.delete(auth.tokenId);
      else this.inflightByToken.set(auth.tokenId, left);
      this.metrics.record(route, performance.now() - started, res.statusCode >= 400);
    };
    res.once('finish', finish);
    res.once('close', finish);

    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > this.options.maxBodyBytes) return this.tooLarge(req, res);
    let body: Buffer;
    try {
      const read = await readBody(req, this.options.maxBodyBytes, this.options.bodyTimeoutMs ?? 30_000);
      if (read === 'too_large') return this.tooLarge(req, res);
      if (read === 'too_slow') {
        res.setHeader('Connection', 'close');
        reply(res, 408, 'request_timeout', `The request body did not arrive within ${Math.round((this.options.bodyTimeoutMs ?? 30_000) / 1000)} s.`);
        res.once('finish', () => req.socket.destroySoon?.());
        return;
      }
      body = read;
    } catch {
      return reply(res, 400, 'invalid_request', 'The request body could not be read.');
    }
    this.forward(route, body, res, true);
  }

  private async authenticate(req: IncomingMessage, team: string, model: string): Promise<{ status: number; code: string; message: string } | { tokenId: number }> {
    const header = req.headers.authorization;
    const token = header ? /^(?:token|bearer)\s+(\S+)$/i.exec(header)?.[1] : undefined;
    if (!token) {
      return {
        status: 401,
        code: 'unauthenticated',
        message: `Send an API token scoped to ${team}/${model} as "Authorization: token atr_…". Create one under API tokens in the hub.`,
      };
    }
    const who = token.startsWith(API_TOKEN_PREFIX) ? await this.identity.fromToken(token) : undefined;
    if (!who) return { status: 401, code: 'invalid_token', message: 'This API token is unknown, revoked or expired.' };
    if (!who.tokenScope) {
      return {
        status: 403,
        code: 'token_not_scoped',
        message: `A personal API token cannot call models. Create a token scoped to ${team}/${model} (API tokens → "Only for model").`,
      };
    }
    if (!scopeAllowsModel(who.tokenScope, team, model)) {
      return { status: 403, code: 'wrong_model', message: `This token is scoped to ${who.tokenScope.replace(/^model:/, '')}, not to ${team}/${model}.` };
    }
    if (!who.user.platformAdmin && !who.user.teams.some((m) => m.team === team)) {
      return { status: 403, code: 'forbidden', message: `${who.user.name} is no longer a member of team ${team}; their tokens for its models no longer work.` };
    }
    return { tokenId: who.tokenId ?? -1 };
  }

  private tooLarge(req: IncomingMessage, res: ServerResponse): void {
    // Do not read the rest of a huge body: answer, then close the connection.
    res.setHeader('Connection', 'close');
    reply(res, 413, 'payload_too_large', `The request body is larger than the limit of ${this.options.maxBodyBytes} bytes.`);
    res.once('finish', () => req.socket.destroySoon?.());
  }

  private forward(route: ModelRoute, body: Buffer, res: ServerResponse, mayRetry: boolean): void {
    const upstream = httpRequest(
      {
        host: route.target.hostname,
        port: route.target.port,
        method: 'POST',
        path: '/predict',
        agent: this.agent,
        headers: { Authorization: `token ${route.token}`, 'Content-Type': 'application/json', 'Content-Length': body.length },
      },
      (up) => this.relay(route, up, res),
    );
    upstream.setTimeout(this.options.timeoutMs, () => {
      upstream.destroy();
      if (!res.headersSent) {
        reply(res, 504, 'predict_timeout', `${route.team}/${route.model} v${route.version} did not answer within ${Math.round(this.options.timeoutMs / 1000)} s.`);
      }
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent || res.writableEnded) return;
      // A kept-alive connection the server closed meanwhile: try once on a fresh one.
      if (mayRetry && upstream.reusedSocket && err.code === 'ECONNRESET') return this.forward(route, body, res, false);
      log.warn('model server unreachable', { model: `${route.team}/${route.model}/${route.alias}`, version: route.version, reason: err.message });
      reply(res, 502, 'model_unreachable', `The server of ${route.team}/${route.model} v${route.version} is not answering; the hub restarts it if it stopped. Try again shortly.`);
    });
    upstream.end(body);
  }

  private relay(route: ModelRoute, up: IncomingMessage, res: ServerResponse): void {
    const status = up.statusCode ?? 502;
    if (status === 200) {
      // Which version answered: after a promotion or rollback, clients can tell without asking the registry.
      const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'X-Atrium-Model-Version': String(route.version) };
      if (up.headers['content-length']) headers['Content-Length'] = up.headers['content-length'];
      res.writeHead(200, headers);
      up.pipe(res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    up.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 65_536) chunks.push(c);
    });
    up.on('error', () => undefined);
    up.on('end', () => {
      let code = 'model_error';
      let message = `The model server answered ${status}.`;
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
        if (typeof parsed.error?.code === 'string') code = parsed.error.code;
        if (typeof parsed.error?.message === 'string') message = parsed.error.message;
      } catch {
        // not JSON: keep the generic message
      }
      const what = `${route.team}/${route.model} v${route.version}`;
      if (status === 504) return reply(res, 504, 'predict_timeout', `${what}: ${message}`);
      if (status === 401) return reply(res, 502, 'model_error', `${what} refused the hub's credentials; redeploy the version.`);
      if (status >= 400 && status < 500) return reply(res, status, code, `${what}: ${message}`);
      return reply(res, 502, code, `${what} failed: ${message}`);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function reply(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The whole body, or 'too_large' as soon as it passes `limit` bytes. */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer | 'too_large' | 'too_slow'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      cleanup();
      req.pause();
      resolve('too_slow');
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        resolve('too_large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
