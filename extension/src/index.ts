/**
 * Atrium's JupyterLab extension: the left-sidebar "Atrium" area with the
 * Knowledge Base (search the hub's knowledge base, read articles, open
 * tutorials as notebooks), Datasets (browse governed datasets, masked
 * previews, access requests, mounts into ~/datasets/), Models (publish the
 * open notebook as a model, guardrails, promotion) and Jobs (run the open
 * notebook now or on a schedule: File → Run as Job…; follow its runs), with
 * a notice above them while a team's monthly budget is at its warning share
 * or used up.
 *
 * It talks only to the hub's REST API (same origin, the hub session cookie)
 * and to the Jupyter server it runs in (Contents API via ServerConnection).
 */
import { ILabShell, ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { ArticleSearchResult, PublishedNotebook } from './apiTypes';
import { errorMessage, HubClient } from './hubClient';
import { KnowledgeBaseModel } from './model';
import { CommandIDs, IAtriumHubClient, IAtriumSidebar, PLUGIN_ID } from './tokens';
import { copyTutorial } from './tutorial';
import { ArticleWidget } from './widgets/ArticleWidget';
import { AtriumSidebar } from './widgets/AtriumSidebar';
import { ModelsModel, type NotebookSource } from './modelsModel';
import { ModelsPanel } from './widgets/ModelsPanel';
import { DatasetsModel, type MountWorkspace } from './datasetsModel';
import { ServerConnection, type ServiceManager } from '@jupyterlab/services';
import { DatasetsPanel } from './widgets/DatasetsPanel';
import { KnowledgeBasePanel } from './widgets/KnowledgeBasePanel';
import { addJobs } from './jobsSetup';
import { addBudgetNotice } from './budgetNotice';

export { HubApiError, HubClient } from './hubClient';
export { KnowledgeBaseModel } from './model';
export { DatasetsModel } from './datasetsModel';
export * from './tokens';

/** The hub API's URL: the hub settings JupyterLab was started with put `hubPrefix` in the page config. */
export function hubApiUrl(): string {
  return hubPageUrl('api');
}

/** A hub page's URL from its path below the hub's prefix (`jobs/<team>/<job>` → `/hub/jobs/<team>/<job>`). */
export function hubPageUrl(path: string): string {
  const prefix = PageConfig.getOption('hubPrefix') || '/hub/';
  const host = PageConfig.getOption('hubHost') || '';
  return host + URLExt.join(prefix, path);
}

const hubClientPlugin: JupyterFrontEndPlugin<HubClient> = {
  id: `${PLUGIN_ID}:hub-client`,
  description: 'The REST client for the Atrium hub API.',
  autoStart: true,
  provides: IAtriumHubClient,
  activate: (): HubClient => new HubClient({ baseUrl: hubApiUrl() }),
};

/**
 * The mount agent in this Jupyter server (workspaces whose home the hub
 * cannot write): Sync asks it to fetch now; the mounted folder's
 * atrium-dataset.json, read through the Contents API, says what is there.
 */
function mountWorkspace(serviceManager: ServiceManager.IManager): MountWorkspace {
  const settings = serviceManager.serverSettings;
  return {
    async sync() {
      const response = await ServerConnection.makeRequest(URLExt.join(settings.baseUrl, 'atrium/datasets/sync'), { method: 'POST' }, settings);
      if (response.ok) return;
      let message = `The workspace's mount agent answered ${response.status}.`;
      try {
        message = ((await response.json()) as { message?: string }).message || message;
      } catch {
        // not JSON: keep the status
      }
      throw new Error(message);
    },
    async mountedVersion(name) {
      const file = await serviceManager.contents.get(`datasets/${name}/atrium-dataset.json`, { content: true, type: 'file', format: 'text' });
      const version = (JSON.parse(String(file.content)) as { version?: unknown }).version;
      return typeof version === 'number' ? version : null;
    },
  };
}

const sidebarPlugin: JupyterFrontEndPlugin<IAtriumSidebar> = {
  id: `${PLUGIN_ID}:sidebar`,
  description: 'The Atrium sidebar: Knowledge Base, Datasets, Models and Jobs; the Run as Job command.',
  autoStart: true,
  requires: [IAtriumHubClient, IRenderMimeRegistry],
  optional: [ILayoutRestorer, ICommandPalette, ILabShell],
  provides: IAtriumSidebar,
  activate: (
    app: JupyterFrontEnd,
    client: HubClient,
    rendermime: IRenderMimeRegistry,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    labShell: ILabShell | null,
  ): IAtriumSidebar => {
    const { commands, shell, serviceManager } = app;
    const articles = new Map<string, ArticleWidget>();

    async function openArticle(id: string, title: string): Promise<void> {
      const existing = articles.get(id);
      if (existing && !existing.isDisposed) {
        shell.activateById(existing.id);
        return;
      }
      const widget = new ArticleWidget(id, title || id);
      articles.set(id, widget);
      widget.disposed.connect(() => articles.delete(id));
      widget.content.showMessage('Loading…', 'loading');
      shell.add(widget, 'main');
      shell.activateById(widget.id);
      try {
        const article = await client.article(id);
        if (widget.isDisposed) return;
        widget.title.label = article.title;
        if (article.kind === 'tutorial' && article.notebook) {
          widget.addNotebookButton(() => void openTutorial(id));
        }
        await widget.content.showArticle(article, rendermime);
      } catch (err) {
        if (!widget.isDisposed) widget.content.showMessage(`Cannot open this article: ${errorMessage(err)}`, 'error');
      }
    }

    async function openTutorial(id: string): Promise<void> {
      const pending = Notification.emit('Copying the tutorial into your home folder…', 'in-progress', { autoClose: false });
      try {
        const copied = await copyTutorial(client, serviceManager.contents, id);
        Notification.update({
          id: pending,
          message: `Copied to ${copied.folder}/ in your home folder.`,
          type: 'success',
          autoClose: 4000,
        });
        await commands.execute('docmanager:open', { path: copied.notebookPath, factory: 'Notebook' });
      } catch (err) {
        Notification.update({ id: pending, message: `Could not open the tutorial: ${errorMessage(err)}`, type: 'error', autoClose: false });
      }
    }

    const model = new KnowledgeBaseModel({ client });
    const kbPanel = new KnowledgeBasePanel(model, {
      open: (r: ArticleSearchResult) => void openArticle(r.id, r.title),
      openNotebook: (r: ArticleSearchResult) => void openTutorial(r.id),
    });
    const sidebar = new AtriumSidebar();
    // Above the panels: teams of the user's at their budget's warning share or hard limit.
    addBudgetNotice({ client, sidebar, hubPage: hubPageUrl });
    sidebar.addPanel(kbPanel);
    const datasets = new DatasetsModel({ client, workspace: mountWorkspace(serviceManager) });
    // After a mount, refresh the file browser so ~/datasets/<name>/ shows at
    // once. It is not navigated there: the launcher creates new notebooks
    // where the file browser is, and the mounted folder is read-only.
    sidebar.addPanel(new DatasetsPanel(datasets, () => void commands.execute('filebrowser:refresh').catch(() => undefined)));
    const modelsModel = new ModelsModel({
      client,
      user: PageConfig.getOption('hubUser'),
      server: workspaceName(),
      readFile: async (path) => {
        const file = await serviceManager.contents.get(path, { content: true, format: 'base64', type: 'file' });
        return String(file.content);
      },
    });
    sidebar.addPanel(new ModelsPanel(modelsModel));
    void modelsModel.load();
    // Follow the notebook in the main area: that is what "Publish this notebook" publishes.
    const follow = () => void modelsModel.setNotebook(notebookSource(shell.currentWidget));
    labShell?.currentChanged.connect(follow);
    follow();
    addJobs({ app, client, sidebar, palette, labShell, notebookOf: notebookSource, user: PageConfig.getOption('hubUser'), server: workspaceName(), hubPage: hubPageUrl });
    sidebar.setRelativeSizes([2, 3, 3, 3]);
    shell.add(sidebar, 'left', { rank: 150 });
    restorer?.add(sidebar, 'atrium-sidebar');
    void model.loadFacets();
    void datasets.refresh();
    datasets.startPolling();

    commands.addCommand(CommandIDs.openArticle, {
      label: 'Open Knowledge Base Article',
      execute: (args) => openArticle(String(args['id'] ?? ''), String(args['title'] ?? '')),
    });
    commands.addCommand(CommandIDs.openTutorial, {
      label: 'Open Tutorial as Notebook',
      execute: (args) => openTutorial(String(args['id'] ?? '')),
    });
    commands.addCommand(CommandIDs.focusSearch, {
      label: 'Search the Knowledge Base',
      execute: () => {
        shell.activateById(sidebar.id);
        kbPanel.focusSearch();
      },
    });
    palette?.addItem({ command: CommandIDs.focusSearch, category: 'Atrium' });

    return sidebar;
  },
};

/**
 * This workspace's name: the hub serves it at `/user/<user>/<workspace>/`
 * (JupyterLab's base URL); `hubServerName` when the page config has it.
 */
export function workspaceName(): string {
  const configured = PageConfig.getOption('hubServerName');
  if (configured) return configured;
  const parts = PageConfig.getBaseUrl().replace(/^https?:\/\/[^/]+/, '').split('/').filter(Boolean);
  return parts[0] === 'user' && parts[2] ? decodeURIComponent(parts[2]) : '';
}

/**
 * The notebook a main-area widget shows, if it is one. Duck-typed on the
 * document context (path, model, save) so the extension needs no
 * dependency on the notebook package for this.
 */
export function notebookSource(widget: unknown): NotebookSource | null {
  const context = (widget as { context?: { path?: unknown; model?: { toJSON?: unknown }; save?: unknown; ready?: unknown } } | null)?.context;
  if (!context || typeof context.path !== 'string' || !context.path.endsWith('.ipynb')) return null;
  if (typeof context.model?.toJSON !== 'function' || typeof context.save !== 'function') return null;
  const ctx = context as { path: string; model: { toJSON(): unknown }; save(): Promise<void>; ready?: Promise<void> };
  // JupyterLab's notebook model serialises nbformat 4 JSON; the hub validates what it is sent (a 400 names the field).
  return { path: ctx.path, toJSON: () => ctx.model.toJSON() as PublishedNotebook, save: () => ctx.save(), ...(ctx.ready ? { ready: ctx.ready } : {}) };
}

export default [hubClientPlugin, sidebarPlugin];
