/**
 * A knowledge-base article in a main-area tab. Team articles are untrusted,
 * so the tab shows the HTML the hub rendered with its own safe renderer
 * (hub/src/kb/markdown.ts: no raw HTML, images only from the knowledge
 * base's assets, no protocol-relative URLs), the same as the hub's article
 * page, passed once more through JupyterLab's sanitizer. JupyterLab's
 * Markdown renderer would keep raw HTML and images from anywhere. Code
 * blocks get a copy button.
 */
import { Clipboard, MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { copyIcon, notebookIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import type { Article } from '../apiTypes';

export class ArticleContent extends Widget {
  constructor() {
    super();
    this.addClass('jp-AtriumArticle');
  }

  /** Show a message instead of an article (loading, or what went wrong). */
  showMessage(message: string, kind: 'loading' | 'error'): void {
    this.node.textContent = '';
    const p = document.createElement('p');
    p.className = `jp-AtriumArticle-message jp-AtriumArticle-${kind}`;
    p.textContent = message;
    this.node.appendChild(p);
  }

  async showArticle(article: Article, rendermime: IRenderMimeRegistry): Promise<void> {
    this.node.textContent = '';
    const header = document.createElement('div');
    header.className = 'jp-AtriumArticle-header';
    const meta = [article.team, article.level, article.kind, article.updated ? `updated ${article.updated}` : '']
      .filter((s) => s)
      .join(' · ');
    const metaEl = document.createElement('div');
    metaEl.className = 'jp-AtriumArticle-meta';
    metaEl.textContent = meta;
    header.appendChild(metaEl);
    if (article.tags?.length) {
      const tags = document.createElement('div');
      tags.className = 'jp-AtriumArticle-tags';
      for (const t of article.tags) {
        const tag = document.createElement('span');
        tag.className = 'jp-AtriumArticle-tag';
        tag.textContent = t;
        tags.appendChild(tag);
      }
      header.appendChild(tags);
    }
    this.node.appendChild(header);

    const body = document.createElement('div');
    body.className = 'jp-AtriumArticle-body jp-RenderedHTMLCommon jp-RenderedMarkdown';
    body.innerHTML = rendermime.sanitizer.sanitize(article.html);
    this.node.appendChild(body);
    addCopyButtons(body);
  }
}

/** A copy button on every code block. */
export function addCopyButtons(root: HTMLElement): void {
  root.querySelectorAll('pre').forEach((pre) => {
    if (pre.parentElement?.classList.contains('jp-AtriumCode')) return;
    const wrapper = document.createElement('div');
    wrapper.className = 'jp-AtriumCode';
    pre.replaceWith(wrapper);
    wrapper.appendChild(pre);
    const button = document.createElement('button');
    button.className = 'jp-AtriumCode-copy jp-Button';
    button.type = 'button';
    button.title = 'Copy this code';
    button.setAttribute('aria-label', 'Copy this code');
    copyIcon.element({ container: button, elementPosition: 'center' });
    button.addEventListener('click', () => {
      const text = pre.textContent ?? '';
      Clipboard.copyToSystem(text);
      button.classList.add('jp-mod-copied');
      button.title = 'Copied';
      window.setTimeout(() => {
        button.classList.remove('jp-mod-copied');
        button.title = 'Copy this code';
      }, 1500);
    });
    wrapper.appendChild(button);
  });
}

export class ArticleWidget extends MainAreaWidget<ArticleContent> {
  constructor(readonly articleId: string, title: string) {
    super({ content: new ArticleContent() });
    this.id = `atrium-article-${articleId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    this.addClass('jp-AtriumArticleWidget');
    this.title.label = title;
    this.title.closable = true;
  }

  /** Add the "Open as notebook" toolbar button (tutorials only). */
  addNotebookButton(onClick: () => void): void {
    this.toolbar.addItem(
      'open-notebook',
      new ToolbarButton({
        icon: notebookIcon,
        label: 'Open as notebook',
        tooltip: 'Copy this tutorial’s notebook and data files into your home folder and open it',
        className: 'jp-AtriumArticle-openNotebook',
        onClick,
      }),
    );
  }
}
