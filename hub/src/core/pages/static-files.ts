import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Router } from 'express';

/** How long browsers may reuse a page script or stylesheet without asking again. */
const MAX_AGE = '1h';
/** A stylesheet in a feature's browser folder, as its URL below /hub/static/ names it. */
const STYLESHEET = /^\/(?:[a-z0-9-]+\/)+browser\/[a-z0-9-]+\.css$/;

/**
 * /hub/static/: what the browser loads besides the pages. A URL mirrors the
 * source path of the file in a feature's `browser/` folder: page scripts come
 * compiled from `dist-client/` (hub/tsconfig.browser.json), stylesheets as
 * written from `src/`, since there is nothing to compile. Only `.css` files
 * in `browser/` folders are served from the source tree.
 */
export function staticFiles(hubDir: string): Router {
  const router = express.Router();
  router.use(express.static(path.join(hubDir, 'dist-client'), { maxAge: MAX_AGE, index: false }));
  // Libraries the pages load as they are published (uPlot, for the Usage charts): only the files named here.
  const uplot = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'));
  for (const file of ['uPlot.esm.js', 'uPlot.min.css']) {
    router.get(`/vendor/uplot/${file}`, (_req, res, next) => res.sendFile(file, { root: uplot, maxAge: MAX_AGE }, (err) => err && next()));
  }
  const sources = path.join(hubDir, 'src');
  router.get(STYLESHEET, (req, res, next) => {
    res.sendFile(req.path.slice(1), { root: sources, maxAge: MAX_AGE, dotfiles: 'deny' }, (err) => {
      if (err) next();
    });
  });
  return router;
}
