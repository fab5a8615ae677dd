import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';
import { Models } from '../components/Models';
import type { ModelsModel } from '../modelsModel';

/** The Atrium sidebar's Models panel: publish the open notebook, see guardrails, promote and roll back. */
export class ModelsPanel extends ReactWidget {
  constructor(readonly model: ModelsModel) {
    super();
    this.id = 'atrium-models';
    this.addClass('jp-AtriumPanel');
    this.title.label = 'Models';
    this.title.caption = 'Publish this notebook as a model; promote and roll back versions';
  }

  render(): JSX.Element {
    return <Models model={this.model} />;
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}
