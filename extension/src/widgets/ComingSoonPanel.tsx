import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';
import { ComingSoon, type ComingSoonProps } from '../components/ComingSoon';

export class ComingSoonPanel extends ReactWidget {
  constructor(
    id: string,
    label: string,
    private readonly props: ComingSoonProps,
  ) {
    super();
    this.id = id;
    this.addClass('jp-AtriumPanel');
    this.title.label = label;
    this.title.caption = `${label}: coming soon`;
  }

  render(): JSX.Element {
    return <ComingSoon {...this.props} />;
  }
}

export function datasetsPanel(): ComingSoonPanel {
  return new ComingSoonPanel('atrium-datasets', 'Datasets', {
    summary: 'a catalog of the datasets your teams share, to browse and load into a notebook.',
    planned: [
      'Browse and search datasets published by your teams',
      'See each dataset’s owner, schema and freshness',
      'Insert the code that loads a dataset into the open notebook',
    ],
  });
}
