/**
 * One event of a workspace's start progress stream
 * (GET /users/{name}/workspaces/{workspace}/progress). The OpenAPI document declares
 * that route as `text/event-stream` and says nothing of the events' JSON, so
 * no type can be derived for it; this mirrors what the route sends.
 */
export interface Progress {
  progress: number;
  message: string;
  /** Set on the last event of a successful start. */
  ready?: boolean;
  /** Set on the last event of a failed start. */
  failed?: boolean;
  /** Where to open the workspace once ready. */
  url?: string;
}
