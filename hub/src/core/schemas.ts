import type { WarmPoolStatus } from '@atrium/spawner';
import { z } from 'zod';

import { teamName } from './names.js';

// The naming rules live in names.ts; these re-exports keep the schemas' imports in one place.
export { teamName, userName, workspaceName } from './names.js';

export const teamRole = z.enum(['team-admin', 'member']);

export const membershipSchema = z.object({ team: teamName, role: teamRole });

export const userSchema = z.object({
  name: z.string(),
  displayName: z.string(),
  email: z.string(),
  platformAdmin: z.boolean(),
  teams: z.array(membershipSchema),
  createdAt: z.number().describe('epoch milliseconds'),
  lastLoginAt: z.number().nullable(),
});

export const teamSchema = z.object({
  name: z.string(),
  displayName: z.string(),
  members: z.array(z.object({ user: z.string(), role: teamRole })),
});

export const serverSchema = z.object({
  user: z.string(),
  name: z.string(),
  image: z.string(),
  imageVersion: z.string(),
  size: z.string(),
  status: z.enum(['pending', 'running', 'stopping', 'stopped', 'failed']),
  url: z.string().describe('Where the browser opens the workspace'),
  startedAt: z.number().nullable(),
  readyAt: z.number().nullable(),
  stoppedAt: z.number().nullable(),
  lastActivityAt: z.number().nullable(),
  message: z.string().nullable().describe('Why the workspace stopped or failed'),
  target: z.string().optional().describe('Internal address, shown to platform admins only'),
});

export const warmPoolSchema = z.object({
  image: z.string(),
  size: z.string(),
  servers: z.number().int().describe('How many servers should wait'),
  waiting: z.number().int().describe('How many wait now'),
  starting: z.number().int().describe('Being started'),
  residentBytes: z.number().int().describe('Memory held by the waiting servers'),
  taken: z.number().int().describe('Servers handed to users since the hub started'),
  lastError: z.string().optional().describe('Why the last start failed, while the pool waits to try again'),
  lastErrorAt: z.string().optional(),
}) satisfies z.ZodType<WarmPoolStatus>;

export const imageSchema = z.object({
  name: z.string(),
  displayName: z.string(),
  description: z.string(),
  version: z.string(),
  packages: z.array(z.object({ name: z.string(), version: z.string() })),
  recommended: z.boolean(),
  deprecated: z.boolean(),
  sizes: z.array(z.string()),
  defaultSize: z.string(),
});

export const sizeSchema = z.object({
  name: z.string(),
  displayName: z.string(),
  description: z.string(),
  cpu: z.number(),
  memoryMiB: z.number(),
  gpu: z.number(),
  available: z.boolean().describe('False when this hub cannot run the size (e.g. GPUs on the local backend)'),
});

export const tokenSchema = z.object({
  id: z.number(),
  note: z.string(),
  prefix: z.string().describe('First characters, to tell tokens apart'),
  createdAt: z.number(),
  expiresAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
  scope: z
    .string()
    .nullable()
    .describe('null: a personal token for the whole API; `model:<team>/<model>`: only that model\'s predict URLs'),
});
