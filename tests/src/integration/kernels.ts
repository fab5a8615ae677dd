import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

/** What running code in a kernel gave: what it printed and its last expression's value (text/plain). */
export interface KernelOutput {
  stdout: string;
  result: string | undefined;
}

/** Run code in a kernel and return what it printed (rejects with `name: value` when it raises). */
export async function printedBy(channelsUrl: string, headers: Record<string, string>, code: string, timeoutMs = 120_000): Promise<string> {
  return (await runInKernel(channelsUrl, headers, code, timeoutMs)).stdout;
}

/** Run code in a kernel and return its last expression's value as text (rejects when it raises or has none). */
export async function resultOf(channelsUrl: string, headers: Record<string, string>, code: string, timeoutMs = 60_000): Promise<string> {
  const { result } = await runInKernel(channelsUrl, headers, code, timeoutMs);
  if (result === undefined) throw new Error('the code gave no result');
  return result;
}

/**
 * Run code in a running kernel over its `channels` WebSocket (through the
 * hub's proxy). Rejects with the error's name and value when the code raises.
 */
export async function runInKernel(channelsUrl: string, headers: Record<string, string>, code: string, timeoutMs = 120_000): Promise<KernelOutput> {
  const ws = new WebSocket(channelsUrl, { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: HTTP ${res.statusCode}`)));
  });
  const msgId = randomUUID();
  let stdout = '';
  let result: string | undefined;
  const done = new Promise<KernelOutput>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms; printed so far: ${stdout}`)), timeoutMs);
    let error: string | undefined;
    let replied = false;
    let idle = false;
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as { parent_header?: { msg_id?: string }; msg_type?: string; channel?: string; content?: any };
      if (msg.parent_header?.msg_id !== msgId) return;
      if (msg.msg_type === 'stream' && msg.content?.name === 'stdout') stdout += String(msg.content.text ?? '');
      if (msg.msg_type === 'execute_result') result = String(msg.content?.data?.['text/plain'] ?? '');
      if (msg.msg_type === 'error') error = `${msg.content.ename}: ${msg.content.evalue}`;
      if (msg.msg_type === 'execute_reply') replied = true;
      if (msg.msg_type === 'status' && msg.content?.execution_state === 'idle') idle = true;
      if (replied && idle) {
        clearTimeout(timer);
        if (error) reject(new Error(error));
        else resolve({ stdout, result });
      }
    });
  });
  ws.send(
    JSON.stringify({
      header: { msg_id: msgId, msg_type: 'execute_request', username: 'test', session: randomUUID(), date: new Date().toISOString(), version: '5.3' },
      parent_header: {},
      metadata: {},
      content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      channel: 'shell',
      buffers: [],
    }),
  );
  try {
    return await done;
  } finally {
    ws.close();
  }
}
