/**
 * Names and labels of the objects the Kubernetes backend creates. Object
 * names must be DNS-1123 labels (≤ 63 characters); user and workspace names
 * are already [a-z0-9][a-z0-9-]*, but their combination can be too long, so
 * long names are cut and made unique again with a short hash.
 */
import { createHash } from 'node:crypto';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  team: 'atrium.dev/team',
  user: 'atrium.dev/user',
  workspace: 'atrium.dev/workspace',
  image: 'atrium.dev/image',
  size: 'atrium.dev/size',
  server: 'atrium.dev/server',
} as const;

export const MANAGED_BY = 'atrium-hub';
/** `component` label of user workspace pods (NetworkPolicies select on it). */
export const WORKSPACE_COMPONENT = 'workspace';
/**
 * `component` label of the pods that re-run published notebooks (the
 * reproducibility guardrail). The workspace NetworkPolicy selects them too;
 * the workspace watches do not.
 */
export const NOTEBOOK_RUN_COMPONENT = 'notebook-run';
/** `component` label of home volumes. */
export const HOME_COMPONENT = 'home';

export const ANNOTATIONS = {
  imageVersion: 'atrium.dev/image-version',
  baseUrl: 'atrium.dev/base-url',
  startedBy: 'atrium.dev/started-by',
} as const;

export function dnsLabel(raw: string, max = 63): string {
  const clean = raw.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
  if (clean.length <= max) return clean;
  const hash = createHash('sha256').update(raw).digest('hex').slice(0, 8);
  return `${clean.slice(0, max - 9).replace(/-+$/, '')}-${hash}`;
}

export function teamNamespace(prefix: string, team: string): string {
  return dnsLabel(`${prefix}${team}`);
}

/** Pod, Secret and Service of one workspace share this name. */
export function serverName(user: string, workspace: string): string {
  // "--" cannot occur in a user name ending, so alice--x never equals alice-x's pods.
  return dnsLabel(`ws-${user}--${workspace}`);
}

/** The user's home volume in a team namespace (one per user and team, shared by their workspaces). */
export function homeClaimName(user: string): string {
  return dnsLabel(`home-${user}`);
}

/** Label values are ≤ 63 characters of [A-Za-z0-9._-]. */
export function labelValue(raw: string): string {
  return dnsLabel(raw);
}
