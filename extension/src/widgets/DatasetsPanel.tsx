import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';
import { Datasets } from '../components/Datasets';
import type { DatasetsModel } from '../datasetsModel';

/** The Datasets panel of the Atrium sidebar: browse, preview (masked), request access, mount. */
export class DatasetsPanel extends ReactWidget {
  constructor(
    readonly model: DatasetsModel,
    private readonly onMounted?: (name: string) => void,
  ) {
    super();
    this.id = 'atrium-datasets';
    this.addClass('jp-AtriumPanel');
    this.title.label = 'Datasets';
    this.title.caption = 'Governed datasets: browse, preview, request access, mount';
  }

  render(): JSX.Element {
    return <Datasets model={this.model} onMounted={this.onMounted} />;
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}
