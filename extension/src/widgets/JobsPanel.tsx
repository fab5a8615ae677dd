import { PolledPanel } from './PolledPanel';
import * as React from 'react';
import { Jobs, type JobsProps } from '../components/Jobs';
import type { JobsModel } from '../jobsModel';

/**
 * The Jobs panel of the Atrium sidebar: the teams' notebook jobs, their runs,
 * Run now, Pause/Resume, and a run's executed notebook opened in JupyterLab.
 * It refreshes only while it is shown (its section open, the sidebar showing).
 */
export class JobsPanel extends PolledPanel<JobsModel> {
  private runAsJob: (() => void) | null = null;

  constructor(
    model: JobsModel,
    private readonly links: Pick<JobsProps, 'jobUrl' | 'notificationsUrl'>,
  ) {
    super(model);
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
}
