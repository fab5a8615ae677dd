import assert from 'node:assert/strict';
import { call, waitFor } from './helpers.js';

/** Start a promotion (202) and follow it until it has an outcome; returns the finished promotion. */
export async function promoteAndWait(url: string, base: string, alias: 'staging' | 'production', version: number, token: string): Promise<any> {
  const started = await call(url, 'POST', `${base}/aliases/${alias}`, { token, body: { version } });
  assert.equal(started.status, 202, started.text);
  assert.equal(started.json.status, 'checking', 'a promotion starts by checking');
  return waitFor(
    `promotion #${started.json.id}`,
    async () => {
      const r = await call(url, 'GET', `${base}/promotions/${started.json.id}`, { token });
      assert.equal(r.status, 200, r.text);
      return ['promoted', 'refused', 'failed'].includes(r.json.status) ? r.json : undefined;
    },
    600_000,
    250,
  );
}
