import { ReactWidget } from '@jupyterlab/apputils';
import type { Message } from '@lumino/messaging';
import * as React from 'react';
import { Jobs, type JobsProps } from '../components/Jobs';
import type { JobsModel } from '../jobsModel';

/**
 * The Jobs panel of the Atrium sidebar: the teams' notebook jobs, their runs,
 * Run now, Pause/Resume, and a run's executed notebook opened in JupyterLab.
 * It refreshes only while it is shown (its section open, the sidebar showing).
 */
export class JobsPanel extends ReactWidget {
  private runAsJob: (() => void) | null = null;

  constructor(
    readonly model: JobsModel,
    private readonly links: Pick<JobsProps, 'jobUrl' | 'notificationsUrl'>,
  ) {
    super();
    this.id = 'atrium-jobs';
    this.addClass('jp-AtriumPanel');
    this.title.label = 'Jobs';
    this.title.caption = 'Notebook jobs: run a notebook now or on a schedule, follow its runs';
  }

  /** What "Run this notebook as a job…" does: null when no notebook is open. */
  setRunAsJob(action: (() => void) | null): void {
    this.runAsJob = action;
    this.update();
  }

  render(): JSX.Element {
    return <Jobs model={this.model} runAsJob={this.runAsJob} jobUrl={this.links.jobUrl} notificationsUrl={this.links.notificationsUrl} />;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) this.model.setVisible(true);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.setVisible(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.setVisible(false);
  }

  protected onBeforeDetach(msg: Message): void {
    this.model.setVisible(false);
    super.onBeforeDetach(msg);
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}
