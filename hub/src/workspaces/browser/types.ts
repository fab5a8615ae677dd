/**
 * What the workspaces API answers, as the page scripts read it. Hand-written
 * for now; to be replaced by types derived from the hub's schemas.
 */

export interface Image {
  name: string;
  displayName: string;
  description: string;
  version: string;
  packages: { name: string; version: string }[];
  recommended: boolean;
  deprecated: boolean;
  sizes: string[];
  defaultSize: string;
}

export interface Size {
  name: string;
  displayName: string;
  description: string;
  cpu: number;
  memoryMiB: number;
  gpu: number;
  available: boolean;
}

export interface Workspace {
  name: string;
  image: string;
  imageVersion: string;
  size: string;
  status: 'pending' | 'running' | 'stopping' | 'stopped' | 'failed';
  url: string;
  lastActivityAt: number | null;
  readyAt: number | null;
  stoppedAt: number | null;
  message: string | null;
}

/** One event of a workspace's start progress stream. */
export interface Progress {
  progress: number;
  message: string;
  ready?: boolean;
  failed?: boolean;
  url?: string;
}

/** A workspace as platform admins list them (GET /servers). */
export interface RunningWorkspace {
  user: string;
  name: string;
  image: string;
  size: string;
  status: string;
  startedAt: number | null;
  lastActivityAt: number | null;
  target?: string;
}
