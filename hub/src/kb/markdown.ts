import { Marked, type Tokens } from 'marked';
import { escapeHtml } from './text.js';

/**
 * Markdown to HTML for articles, which teams write and so are untrusted:
 * raw HTML in the Markdown is shown as text, links may only go to http(s),
 * mailto or paths on this site, images only from this site. Everything else
 * marked escapes itself.
 */
const SAFE_LINK = /^(https?:\/\/|mailto:|\/(?!\/)|#|\.{0,2}\/)/i;
const SAFE_IMAGE = /^(\/(?!\/)|\.{0,2}\/)/;

function safeHref(href: string, pattern: RegExp): string | null {
  const trimmed = href.trim();
  // Relative names without a scheme ("other-article") are fine too.
  if (pattern.test(trimmed) || (/^[\w.-]+(#[\w-]*)?$/.test(trimmed) && !trimmed.includes(':'))) return trimmed;
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
