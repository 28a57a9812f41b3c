// The real service on a KurrentDB cluster going through what clusters go
// through: elections and overloads, and the client failing to discover a node.
// The client is replaced (only in this file) by the in-memory stand-in, made
// through KurrentDbEventStore.connect from the configured connection string,
// as the real one is; everything else is the real service.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { WEBHOOK_DISPATCH_GROUP } from '../../src/webhooks/persistent-dispatch.js';
import { tempDir } from '../helpers/temp-dir.js';
import { ADMIN_KEY } from '../helpers/service.js';
import { WRITER_KEY, statement } from './kurrentdb-fixtures.js';
import { StandInKurrentDB } from './kurrentdb-stand-in.js';

const servers = vi.hoisted(() => new Map<string, { client(): unknown }>());

vi.mock('@kurrent/kurrentdb-client', (importOriginal) => import('./kurrentdb-client-mock.js').then((m) => m.withStandIns(importOriginal, servers)));

const URL = 'kurrentdb://node1:2113,node2:2113,node3:2113?tls=false&nodePreference=leader';

describe('the service on a KurrentDB cluster in trouble', () => {
  let service: Service;
  let standIn: StandInKurrentDB;
  const temp = tempDir();

  beforeAll(async () => {
    standIn = new StandInKurrentDB();
    servers.set(URL, standIn);
    const config = loadConfig({
      DATA_DIR: temp.dir,
      EVENT_STORE: 'kurrentdb',
      KURRENTDB_URL: URL,
      API_KEYS: `writer:${WRITER_KEY}:writer,admin:${ADMIN_KEY}:admin`,
      SEED_ON_START: 'false',
      WEBHOOK_ALLOWED_HOSTS: 'localhost',
    });
    service = await startService(config, pino({ level: 'silent' }));
    await service.app.ready();
  });

  afterAll(async () => {
    await service?.close();
    temp.cleanup();
  });

  const write = () => service.app.inject({ method: 'POST', url: '/v1/statements', headers: { authorization: `Bearer ${WRITER_KEY}` }, payload: statement });

  it.each(['Server Is Not Ready', 'Server Is Busy', 'No leader info available in response'])(
    'answers a write the node did not handle ("%s": a start, an election, an overload) with 503 and Retry-After, and takes it after',
    async (answer) => {
      standIn.notHandled = answer;
      try {
        const refused = await write();
        expect(refused.statusCode).toBe(503);
        expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
        expect(refused.json().detail).toContain(answer);
      } finally {
        standIn.notHandled = undefined;
      }
      expect((await write()).statusCode).toBe(201);
    },
  );

  it('an endpoint created twice at once with one Idempotency-Key is created once (KurrentDB checks event ids within a stream only)', async () => {
    const create = () =>
      service.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'idempotency-key': 'newsroom-create-1' },
        // A name, so both requests wait on its lookup before either appends. Filtered to what these
        // tests never write: nothing is delivered to it.
        payload: { url: 'http://localhost:9/hooks', types: ['statement.retracted'], countries: ['IS'] },
      });
    const answers = await Promise.all([create(), create()]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 409]);
    const created = answers.find((a) => a.statusCode === 201)!.json();
    expect(answers.find((a) => a.statusCode === 409)!.json().detail).toContain(created.id);
    expect((await create()).statusCode).toBe(409);
    const list = (await service.app.inject({ method: 'GET', url: '/v1/webhooks', headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json();
    expect(list.items.map((e: { id: string }) => e.id)).toEqual([created.id]);
  });

  it('a cluster the client cannot discover: writes answer 503 meanwhile; once it is back, writes, projections and webhook dispatch go on', async () => {
    const group = () => standIn.groups.get(WEBHOOK_DISPATCH_GROUP);
    await expect.poll(() => group()?.consumers.length ?? 0).toBe(1);
    standIn.setDiscoveryFailing(true);
    const refused = await write();
    expect(refused.statusCode).toBe(503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Meanwhile the projections' subscription and the webhook group try again and fail, and the
    // group's calls leave the client with a failed discovery it would keep for good.
    await expect.poll(() => standIn.groupCalls).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    standIn.setDiscoveryFailing(false);

    let written: Awaited<ReturnType<typeof write>> | undefined;
    await expect
      .poll(async () => (written = await write()).statusCode, { timeout: 10_000, interval: 200 })
      .toBe(201);
    const { statementId } = written!.json();
    await expect
      .poll(async () => (await service.app.inject({ method: 'GET', url: `/v1/statements/${statementId}` })).statusCode, { timeout: 10_000, interval: 200 })
      .toBe(200);
    await expect.poll(() => group()?.consumers.length ?? 0, { timeout: 20_000, interval: 200 }).toBe(1);
    const ready = (await service.app.inject({ method: 'GET', url: '/health/ready' })).json();
    expect(ready).toMatchObject({ ready: true });
    expect(JSON.stringify(ready)).not.toMatch(/stopped/);
  });
});
