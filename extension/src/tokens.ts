/**
 * Tokens other JupyterLab plugins can require: the hub API client and the
 * Atrium sidebar (which holds the Knowledge Base, Datasets, Models and Jobs panels)
 * to add panels of their own to.
 */
import { Token } from '@lumino/coreutils';
import type { Widget } from '@lumino/widgets';
import type { HubClient } from './hubClient';

export const PLUGIN_ID = '@atrium/jupyterlab';

/** The REST client for the hub's API (same origin, hub session cookie). */
export const IAtriumHubClient = new Token<HubClient>(`${PLUGIN_ID}:IAtriumHubClient`, 'The Atrium hub API client.');

export interface IAtriumSidebar {
  /** Add a collapsible panel to the Atrium sidebar (its title is the panel's heading). */
  addPanel(widget: Widget): void;
}

export const IAtriumSidebar = new Token<IAtriumSidebar>(`${PLUGIN_ID}:IAtriumSidebar`, 'The Atrium left sidebar.');

export namespace CommandIDs {
  export const openArticle = 'atrium:open-article';
  export const openTutorial = 'atrium:open-tutorial-notebook';
  export const focusSearch = 'atrium:focus-knowledge-base';
  /** Open the "Run as job" dialog for the notebook in the main area. */
  export const runAsJob = 'atrium:run-as-job';
}
