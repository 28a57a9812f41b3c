// A start while KurrentDB cannot be reached, then the server appears: the
// service must notice on its own, resubscribe its projections, load the seed
// statements it could not load at start, become ready and take writes.
//
// The real server cannot run here, so the client is replaced (only in this
// file) by the in-memory stand-in, whose every call first opens a TCP
// connection to the configured address: it fails as the real client does while
// the port refuses, and answers once something accepts there. Everything else
// is the real service: config, composition, adapter, projection runner, HTTP.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { tempDir } from '../helpers/temp-dir.js';
import { StandInKurrentDB, accepts, closedPort } from './kurrentdb-stand-in.js';
import { WRITER_KEY, statement } from './kurrentdb-fixtures.js';

const servers = vi.hoisted(() => new Map<string, { client(): unknown }>());

vi.mock('@kurrent/kurrentdb-client', (importOriginal) => import('./kurrentdb-client-mock.js').then((m) => m.withStandIns(importOriginal, servers)));


const WRITER = WRITER_KEY;

describe('the service started while KurrentDB is unreachable', () => {
  let service: Service;
  let port: number;
  let standIn: StandInKurrentDB;
  let listener: net.Server | undefined;
  const temp = tempDir();

  beforeAll(async () => {
    port = await closedPort();
    const url = `kurrentdb://127.0.0.1:${port}?tls=false`;
    standIn = new StandInKurrentDB({ reachable: () => accepts(port) });
    servers.set(url, standIn);
    const config = loadConfig({ DATA_DIR: temp.dir, EVENT_STORE: 'kurrentdb', KURRENTDB_URL: url, API_KEYS: `writer:${WRITER}:writer`, SEED_ON_START: 'true' });
    service = await startService(config, pino({ level: 'silent' }));
    await service.app.ready();
  });

  afterAll(async () => {
    await service?.close();
    await new Promise((resolve) => (listener ? listener.close(resolve) : resolve(undefined)));
    temp.cleanup();
  });

  it('reports not ready with the reason while the port refuses, then recovers by itself when the server appears', async () => {
    const before = await service.app.inject({ method: 'GET', url: '/health/ready' });
    expect(before.statusCode).toBe(503);
    expect(before.json().reason).toContain(`KurrentDB at 127.0.0.1:${port} cannot be reached`);
    const refused = await service.app.inject({ method: 'POST', url: '/v1/statements', headers: { authorization: `Bearer ${WRITER}` }, payload: statement });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(standIn.events().filter((r) => !r.streamId.startsWith('$'))).toHaveLength(0);

    // The change stream opens all the same for a Last-Event-ID ahead of this read model (one another
    // replica sent), which only the store could check: an EventSource never reconnects after a 503.
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    const { port: apiPort } = service.app.server.address() as AddressInfo;
    const streamStatus = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: apiPort, path: '/v1/changes/stream', headers: { 'last-event-id': '50@2024-06-01' } }, (res) => {
        resolve(res.statusCode!);
        req.destroy();
      });
      req.on('error', reject);
      req.end();
    });
    expect(streamStatus).toBe(200);

    // The server appears.
    listener = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener!.listen(port, '127.0.0.1', resolve));

    // The seed statements deferred at start reach the log, and the projections, resubscribed, apply them all.
    const seeded = () => standIn.events().filter((r) => r.streamId.startsWith('country-')).length;
    await expect.poll(seeded, { timeout: 20_000, interval: 200 }).toBeGreaterThan(0);
    await expect
      .poll(async () => (await service.app.inject({ method: 'GET', url: '/v1/countries' })).body, { timeout: 20_000, interval: 200 })
      .toContain('"US"');
    await expect
      .poll(async () => (await service.app.inject({ method: 'GET', url: '/health/ready' })).json(), { timeout: 20_000, interval: 200 })
      .toMatchObject({ ready: true });
    const ready = (await service.app.inject({ method: 'GET', url: '/health/ready' })).json();
    const last = standIn.events().filter((r) => r.streamId.startsWith('country-')).at(-1)!;
    expect(ready.head).toBe(Number(last.commit));
    expect(ready.position).toBe(ready.head);

    // And writes go through, and read back through the read model straight away.
    const written = await service.app.inject({ method: 'POST', url: '/v1/statements', headers: { authorization: `Bearer ${WRITER}` }, payload: statement });
    expect(written.statusCode).toBe(201);
    const { statementId } = written.json();
    expect((await service.app.inject({ method: 'GET', url: `/v1/statements/${statementId}` })).statusCode).toBe(200);
  });
});
