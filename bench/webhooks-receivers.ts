// The benchmark's receivers, in their own process so they do not share an
// event loop with the service: N HTTP servers on 127.0.0.1, each noting when
// every body arrived. Asked over IPC for counts and for what they noted.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** [receiver index, log position from the payload, 1 when sent raw, arrival time in epoch ms]. */
export type Receipt = [number, number, number, number];

const count = Number(process.argv[2] ?? 100);
let receipts: Receipt[] = [];
const ports: number[] = [];

for (let index = 0; index < count; index++) {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const at = performance.timeOrigin + performance.now();
      const match = /"position":(\d+)/.exec(Buffer.concat(chunks).toString('utf8'));
      receipts.push([index, match ? Number(match[1]) : -1, request.headers['x-bench-raw'] ? 1 : 0, at]);
      response.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  ports.push((server.address() as AddressInfo).port);
}

process.on('message', (message: { type: 'count' | 'take' }) => {
  if (message.type === 'count') process.send!({ type: 'count', count: receipts.length });
  if (message.type === 'take') {
    process.send!({ type: 'take', receipts });
    receipts = [];
  }
});
process.send!({ type: 'ready', ports });
