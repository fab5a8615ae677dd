/** What a user typed or chose in a part of the page that is about to be re-rendered. */
export interface SavedInputs {
  values: Map<string, { value: string; checked: boolean }>;
  kept: Map<string, Node[]>;
  focus?: { id: string; start: number | null; end: number | null };
}

/**
 * Pages that poll re-render their content; without this, a half-typed purpose
 * or a chosen option would vanish every second. Keyed by element id; elements
 * marked `data-keep` keep their rendered content (a comparison result, say).
 */
export function saveInputs(root: HTMLElement): SavedInputs {
  const values = new Map<string, { value: string; checked: boolean }>();
  for (const el of root.querySelectorAll<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>('input[id], textarea[id], select[id]')) {
    values.set(el.id, { value: el.value, checked: el instanceof HTMLInputElement && el.checked });
  }
  const kept = new Map<string, Node[]>();
  for (const el of root.querySelectorAll<HTMLElement>('[data-keep][id]')) kept.set(el.id, [...el.childNodes]);
  const active = document.activeElement;
  const focus =
    active instanceof HTMLElement && active.id && root.contains(active)
      ? {
          id: active.id,
          start: active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement ? active.selectionStart : null,
          end: active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement ? active.selectionEnd : null,
        }
      : undefined;
  return { values, kept, focus };
}

export function restoreInputs(root: HTMLElement, saved: SavedInputs): void {
  for (const [id, { value, checked }] of saved.values) {
    const el = root.querySelector<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>(`#${CSS.escape(id)}`);
    if (!el) continue;
    if (el instanceof HTMLInputElement && (el.type === 'checkbox' || el.type === 'radio')) el.checked = checked;
    else if (!(el instanceof HTMLSelectElement) || [...el.options].some((o) => o.value === value)) el.value = value;
  }
  for (const [id, nodes] of saved.kept) {
    const el = root.querySelector<HTMLElement>(`#${CSS.escape(id)}`);
    if (el && el.childNodes.length === 0) el.replaceChildren(...nodes);
  }
  if (saved.focus) {
    const el = root.querySelector<HTMLElement>(`#${CSS.escape(saved.focus.id)}`);
    if (el) {
      el.focus();
      if ((el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) && saved.focus.start !== null) {
        try {
          el.setSelectionRange(saved.focus.start, saved.focus.end);
        } catch {
          // inputs without a text selection (number, email) cannot restore one
        }
      }
    }
  }
}
