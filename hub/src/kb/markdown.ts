import { Marked, type Tokens } from 'marked';
import { escapeHtml } from './text.js';

/**
 * Markdown to HTML for articles, which teams write and so are untrusted:
 * raw HTML in the Markdown is shown as text; links may only go to http(s),
 * mailto, anchors or paths on this site; images only from the knowledge
 * base's own asset folder (`/hub/kb/assets/`), because an image loads by
 * itself: `![x](/hub/logout)` or `![x](/hub/api/datasets/…/download)` would
 * act in every reader's name. Protocol-relative URLs (`//host`) and
 * backslashes (`/\host`, which browsers read as `//host`) never pass.
 * Everything else marked escapes itself.
 */
const SAFE_LINK = /^(https?:\/\/|mailto:|\/(?![/\\])|#|\.{0,2}\/(?![/\\]))/i;
/** Articles' images: below `/hub/kb/assets/`, served from `<kbDir>/assets/`. */
const SAFE_IMAGE = /^\/hub\/kb\/assets\/[A-Za-z0-9_-][A-Za-z0-9._/-]*$/;

function safeHref(href: string, pattern: RegExp): string | null {
  const trimmed = href.trim();
  // Backslashes, control characters and whitespace inside a URL are how parsers are told apart: refuse them all.
  if (/[\\\u0000-\u0020\u007f]/.test(trimmed) || (pattern === SAFE_IMAGE && trimmed.split('/').includes('..'))) return null;
  // Relative names without a scheme ("other-article") are fine for links.
  if (pattern.test(trimmed) || (pattern === SAFE_LINK && /^[\w.-]+(#[\w-]*)?$/.test(trimmed) && !trimmed.includes(':'))) return trimmed;
  return null;
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html(token: Tokens.HTML | Tokens.Tag) {
      return escapeHtml(token.text);
    },
    link(token: Tokens.Link) {
      const text = this.parser.parseInline(token.tokens);
      const href = safeHref(token.href, SAFE_LINK);
      if (!href) return text;
      const external = /^https?:/i.test(href);
      return `<a href="${escapeHtml(href)}"${token.title ? ` title="${escapeHtml(token.title)}"` : ''}${external ? ' rel="noopener noreferrer nofollow"' : ''}>${text}</a>`;
    },
    image(token: Tokens.Image) {
      const src = safeHref(token.href, SAFE_IMAGE);
      if (!src) return escapeHtml(token.text);
      return `<img src="${escapeHtml(src)}" alt="${escapeHtml(token.text)}"${token.title ? ` title="${escapeHtml(token.title)}"` : ''}>`;
    },
  },
});

export function renderMarkdown(markdown: string): string {
  return marked.parse(markdown, { async: false });
}
