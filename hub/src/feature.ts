import type { Router } from 'express';
import type { ApiRegistry } from './core/api.js';
import type { HubDeps } from './deps.js';

/**
 * How a feature plugs into the hub. Every feature folder exports one of
 * these from its `index.ts`; `app.ts` wires them in a loop, in the order of
 * `FEATURES` (pages and routes are registered in that order, background work
 * starts in that order and shuts down in the reverse one). A feature's
 * tables and migrations are its `tables.ts` and `migrations.ts`, joined in
 * `migrations.ts` beside this file.
 */
export interface HubFeature {
  /** The folder's name, for logs. */
  readonly name: string;
  /** Its REST API, declared with schemas and who may call each route. */
  routes?(api: ApiRegistry, deps: HubDeps): void;
  /** Its server-rendered pages below /hub. */
  pages?(router: Router, deps: HubDeps): void;
  /** Background work (timers, reconcilers, restoring state); called once the routes exist. */
  start?(deps: HubDeps): Promise<void> | void;
  /** Stops its background work; with `stopServers`, the processes it started too. */
  close?(deps: HubDeps, options: { stopServers: boolean }): Promise<void> | void;
}
