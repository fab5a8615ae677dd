import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactInfo } from './store.js';
import { type Notebook, notebookSchema, sha256 } from './notebook.js';

/**
 * Bundles: one immutable directory per model version under
 * `<stateDir>/models/<team>/<model>/<version>/`, laid out as
 * spawner/src/model-server.ts defines (notebook.ipynb, artifacts/…,
 * manifest.json), which is what model servers run.
 */
export class BundleStore {
  readonly root: string;

  constructor(stateDir: string) {
    this.root = path.join(stateDir, 'models');
  }

  dirFor(team: string, model: string, version: number): string {
    return path.join(this.root, team, model, String(version));
  }

  /** Write the whole bundle to a scratch directory, then rename: a half-written bundle never appears. */
  write(options: {
    team: string;
    model: string;
    version: number;
    image: string;
    imageVersion: string;
    notebook: string;
    artifacts: { name: string; content: Buffer }[];
  }): { dir: string; artifacts: ArtifactInfo[] } {
    const dir = this.dirFor(options.team, options.model, options.version);
    const scratch = `${dir}.partial-${process.pid}-${Date.now()}`;
    mkdirSync(scratch, { recursive: true });
    try {
      writeFileSync(path.join(scratch, 'notebook.ipynb'), options.notebook);
      const infos: ArtifactInfo[] = [];
      for (const a of options.artifacts) {
        const file = path.join(scratch, 'artifacts', a.name);
        // Names are validated (no `..`); this is the last line of defence.
        if (!file.startsWith(path.join(scratch, 'artifacts') + path.sep)) throw new Error(`artifact name ${a.name} leaves the bundle`);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, a.content);
        infos.push({ name: a.name, bytes: a.content.length, sha256: sha256(a.content) });
      }
      const manifest = { model: options.model, team: options.team, version: options.version, image: options.image, imageVersion: options.imageVersion };
      writeFileSync(path.join(scratch, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true }); // left by a crash before the database row was written
      renameSync(scratch, dir);
      return { dir, artifacts: infos };
    } catch (err) {
      rmSync(scratch, { recursive: true, force: true });
      throw err;
    }
  }

  /** The version's notebook as published; undefined when the bundle is missing or damaged on this hub. */
  readNotebook(team: string, model: string, version: number): Notebook | undefined {
    try {
      return notebookSchema.parse(JSON.parse(readFileSync(path.join(this.dirFor(team, model, version), 'notebook.ipynb'), 'utf8')));
    } catch {
      return undefined;
    }
  }

  remove(team: string, model: string, version: number): void {
    rmSync(this.dirFor(team, model, version), { recursive: true, force: true });
  }
}
