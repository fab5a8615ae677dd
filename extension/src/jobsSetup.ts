/**
 * Notebook jobs in JupyterLab: the "Run as Job…" command (File menu, the
 * notebook's context menu and the command palette; the menus are declared in
 * schema/sidebar.json) and the Jobs panel of the Atrium sidebar.
 */
import type { ILabShell, JupyterFrontEnd } from '@jupyterlab/application';
import type { ICommandPalette } from '@jupyterlab/apputils';
import type { ExecutedNotebook } from './apiTypes';
import type { HubClient } from './hubClient';
import { RUNS_FOLDER } from './jobs';
import { JobsModel } from './jobsModel';
import type { NotebookSource } from './modelsModel';
import { RunAsJobModel } from './runAsJobModel';
import { CommandIDs, type IAtriumSidebar } from './tokens';
import { JobsPanel } from './widgets/JobsPanel';
import { showRunAsJobDialog } from './widgets/RunAsJobDialog';

export interface JobsWiring {
  app: JupyterFrontEnd;
  client: HubClient;
  sidebar: IAtriumSidebar;
  palette: ICommandPalette | null;
  labShell: ILabShell | null;
  /** The notebook a main-area widget shows, if it is one. */
  notebookOf: (widget: unknown) => NotebookSource | null;
  /** Hub user and workspace name of this JupyterLab. */
  user: string;
  server: string;
  /** A hub page's URL from its path below the hub prefix (`jobs/<team>/<job>`). */
  hubPage: (path: string) => string;
}

/** Adds the Jobs panel to the sidebar and registers the command; returns the panel. */
export function addJobs(w: JobsWiring): JobsPanel {
  const { app, client } = w;
  const { commands, shell, serviceManager } = app;
  const jobUrl = (team: string, name: string) => w.hubPage(`jobs/${encodeURIComponent(team)}/${encodeURIComponent(name)}`);

  /** Save a run's executed notebook in ~/job-runs/ (kept as it is when already there: it may have been edited) and open it. */
  async function openNotebook(path: string, notebook: ExecutedNotebook): Promise<void> {
    const contents = serviceManager.contents;
    const exists = (p: string) => contents.get(p, { content: false }).then(() => true, () => false);
    if (!(await exists(RUNS_FOLDER))) await contents.save(RUNS_FOLDER, { type: 'directory' });
    if (!(await exists(path))) await contents.save(path, { type: 'notebook', format: 'json', content: notebook });
    await commands.execute('docmanager:open', { path, factory: 'Notebook' });
  }

  const jobs = new JobsModel({ client, openNotebook, pageVisible: () => document.visibilityState !== 'hidden' });
  const panel = new JobsPanel(jobs, { jobUrl, notificationsUrl: w.hubPage('notifications') });
  w.sidebar.addPanel(panel);

  const current = () => w.notebookOf(shell.currentWidget);
  async function runAsJob(): Promise<void> {
    const notebook = current();
    if (!notebook) return;
    const model = new RunAsJobModel({ client, notebook, user: w.user, server: w.server, jobUrl, onSaved: (job) => void jobs.reveal(job) });
    await showRunAsJobDialog(model);
  }

  commands.addCommand(CommandIDs.runAsJob, {
    label: 'Run as Job…',
    caption: 'Run this notebook now or on a schedule, as you, in a fresh kernel on the hub',
    isEnabled: () => current() !== null,
    execute: () => runAsJob(),
  });
  w.palette?.addItem({ command: CommandIDs.runAsJob, category: 'Atrium' });
  const follow = () => {
    panel.setRunAsJob(current() ? () => void commands.execute(CommandIDs.runAsJob) : null);
    commands.notifyCommandChanged(CommandIDs.runAsJob);
  };
  w.labShell?.currentChanged.connect(follow);
  follow();
  return panel;
}
