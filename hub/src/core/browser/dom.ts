import { html, type Raw } from '../pages/html.js';

/**
 * Page scripts build their markup with the same escaping `html` template as
 * the server's pages, so every value is escaped by construction; this is the
 * one place where such markup becomes DOM.
 */
export function fragment(content: Raw): DocumentFragment {
  const template = document.createElement('template');
  template.innerHTML = content.html;
  return template.content;
}

/** Replace what `target` shows. */
export function render(target: Element, content: Raw): void {
  target.replaceChildren(fragment(content));
}

/** Render into the element with this id, if the page has it. */
export function renderInto(id: string, content: Raw): void {
  const el = document.getElementById(id);
  if (el) render(el, content);
}

export const errorBox = (message: string): Raw => html`<div class="error-box" role="alert">${message}</div>`;

export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function showError(containerId: string, err: unknown): void {
  renderInto(containerId, errorBox(messageOf(err)));
}

/** A success message in the page's #flash area. */
export function flash(message: string): void {
  renderInto('flash', html`<div class="notice-box" role="status">${message}</div>`);
}

export function clear(containerId: string): void {
  document.getElementById(containerId)?.replaceChildren();
}
