import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';
import { KnowledgeBase } from '../components/KnowledgeBase';
import type { ArticleSearchResult } from '../apiTypes';
import type { KnowledgeBaseModel } from '../model';

export class KnowledgeBasePanel extends ReactWidget {
  constructor(
    readonly model: KnowledgeBaseModel,
    private readonly actions: { open: (r: ArticleSearchResult) => void; openNotebook: (r: ArticleSearchResult) => void },
  ) {
    super();
    this.id = 'atrium-knowledge-base';
    this.addClass('jp-AtriumPanel');
    this.title.label = 'Knowledge Base';
    this.title.caption = 'Search the Atrium knowledge base';
  }

  /** Put the cursor in the search box. */
  focusSearch(): void {
    this.node.querySelector<HTMLInputElement>('.jp-AtriumKB-input')?.focus();
  }

  render(): JSX.Element {
    return <KnowledgeBase model={this.model} onOpen={this.actions.open} onOpenNotebook={this.actions.openNotebook} />;
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}
