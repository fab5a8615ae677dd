import { deflateSync } from 'node:zlib';
import type { Notebook } from '../notebook.js';

/** A notebook with the given code cells and their outputs. */
export function notebookWith(cells: { source: string; outputs?: unknown[] }[]): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: cells.map((c) => ({ cell_type: 'code', source: c.source, metadata: {}, outputs: (c.outputs ?? []) as never, execution_count: 1 })),
  } as Notebook;
}

export const stream = (text: string) => ({ output_type: 'stream', name: 'stdout', text });
export const result = (data: Record<string, unknown>) => ({ output_type: 'execute_result', data, metadata: {}, execution_count: 1 });

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/** A real PNG of noisy pixels (what a matplotlib plot output looks like to a scanner), base64. */
export function noisyPngBase64(size = 96, seed = 7): string {
  let x = seed;
  const rand = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff;
  const raw = Buffer.alloc(size * (size * 3 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;
    for (let i = 1; i <= size * 3; i++) raw[y * (size * 3 + 1) + i] = rand();
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const png = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  return png.toString('base64');
}
