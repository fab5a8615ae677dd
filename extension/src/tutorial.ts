/**
 * "Open as notebook": copy a tutorial's notebook and data files into the
 * user's home through the Jupyter server's Contents API (the per-server token
 * stays with the hub's proxy), then open it.
 *
 * Everything goes into one new folder named after the tutorial (`<id>`, or
 * `<id>-2`, `<id>-3`, … when that name is taken) so the notebook's relative
 * paths to its data files work and nothing of the user's is overwritten.
 */
import type { TutorialNotebook } from './apiTypes';
import type { HubClient } from './hubClient';

/** The part of JupyterLab's Contents manager this needs. */
export interface ContentsLike {
  get(path: string, options?: { content?: boolean }): Promise<unknown>;
  save(path: string, options: { type: 'directory' | 'notebook' | 'file'; format?: 'json' | 'text' | 'base64'; content?: unknown }): Promise<unknown>;
}

export interface CopiedTutorial {
  folder: string;
  notebookPath: string;
  files: string[];
}

/** A file or folder name safe for the Contents API (no path separators, no leading dots). */
export function safeName(name: string): string {
  const cleaned = name
    .replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '-')
    .replace(/^\.+/, '')
    .trim();
  return cleaned === '' ? 'tutorial' : cleaned.slice(0, 120);
}

/** Whether `path` exists on the server (a 404 from the Contents API means no). */
export async function exists(contents: ContentsLike, path: string): Promise<boolean> {
  try {
    await contents.get(path, { content: false });
    return true;
  } catch (err) {
    const status = (err as { response?: { status?: number } }).response?.status;
    if (status === 404) return false;
    throw err;
  }
}

/** `base`, or `base-2`, `base-3`, … : the first name that does not exist yet. */
export async function freeName(contents: ContentsLike, base: string, maxTries = 100): Promise<string> {
  if (!(await exists(contents, base))) return base;
  for (let i = 2; i <= maxTries; i++) {
    const candidate = `${base}-${i}`;
    if (!(await exists(contents, candidate))) return candidate;
  }
  throw new Error(`Could not find a free name for "${base}" in your home folder.`);
}

export function toBase64(data: ArrayBuffer): string {
  const bytes = new Uint8Array(data);
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

export async function copyTutorial(
  hub: Pick<HubClient, 'article' | 'notebook' | 'file'>,
  contents: ContentsLike,
  id: string,
): Promise<CopiedTutorial> {
  const article = await hub.article(id);
  if (article.kind !== 'tutorial' || !article.notebook) {
    throw new Error(`"${article.title}" is an article, not a tutorial: it has no notebook.`);
  }
  const notebook: TutorialNotebook = await hub.notebook(id);
  const folder = await freeName(contents, safeName(id));
  await contents.save(folder, { type: 'directory' });
  const files: string[] = [];
  for (const file of article.files ?? []) {
    const data = await hub.file(id, file);
    const target = `${folder}/${safeName(file)}`;
    await contents.save(target, { type: 'file', format: 'base64', content: toBase64(data) });
    files.push(target);
  }
  let notebookName = safeName(article.notebook.split('/').pop() ?? `${id}.ipynb`);
  if (!notebookName.endsWith('.ipynb')) notebookName += '.ipynb';
  const notebookPath = `${folder}/${notebookName}`;
  await contents.save(notebookPath, { type: 'notebook', format: 'json', content: notebook });
  return { folder, notebookPath, files };
}
