// A request the parser refuses on a connection whose previous response is still being written
// (a change stream, pipelined after): its status line must not be written into that response's body.
import { connect } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

const services: TestService[] = [];
afterAll(async () => {
  for (const service of services) await service.stop();
});

it('no problem document is written into a response already under way', async () => {
  const service = await startTestService();
  services.push(service);
  const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = new URL(address);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk));
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET /v1/changes/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await expect.poll(() => answer).toContain('retry: 2000');
  socket.write('GET /v1/countries HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n');
  await new Promise((resolve) => socket.once('close', resolve));
  expect(answer.match(/HTTP\/1\.1 /g)).toHaveLength(1);
});
