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
