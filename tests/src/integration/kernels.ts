import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

/**
 * Run code in a running kernel over its `channels` WebSocket (through the
 * hub's proxy) and return what it printed. Rejects with the error's name
 * and value when the code raises.
 */
export async function printedBy(channelsUrl: string, headers: Record<string, string>, code: string, timeoutMs = 120_000): Promise<string> {
  const ws = new WebSocket(channelsUrl, { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: HTTP ${res.statusCode}`)));
  });
  const msgId = randomUUID();
  let stdout = '';
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms; printed so far: ${stdout}`)), timeoutMs);
    let error: string | undefined;
    let replied = false;
    let idle = false;
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as { parent_header?: { msg_id?: string }; msg_type?: string; channel?: string; content?: any };
      if (msg.parent_header?.msg_id !== msgId) return;
      if (msg.msg_type === 'stream' && msg.content?.name === 'stdout') stdout += String(msg.content.text ?? '');
      if (msg.msg_type === 'error') error = `${msg.content.ename}: ${msg.content.evalue}`;
      if (msg.msg_type === 'execute_reply') replied = true;
      if (msg.msg_type === 'status' && msg.content?.execution_state === 'idle') idle = true;
      if (replied && idle) {
        clearTimeout(timer);
        if (error) reject(new Error(error));
        else resolve(stdout);
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
