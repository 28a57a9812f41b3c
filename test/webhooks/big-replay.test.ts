// A replay of a long log, as a subscriber back from an outage asks for it: the
// service keeps answering meanwhile, and the receiver gets every change once,
// in order, numbered without a gap, and then what was written meanwhile; a
// replay cut short by a crash is finished at the next start, each change once.
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { countryStream, newEvent } from '../../events/registry.js';
import { Tokens } from '../../src/composition.js';
import type { EventStore } from '../../src/store/event-store.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import type { Webhooks } from '../../src/webhooks/webhooks.js';
import { statement as storedStatement } from '../helpers/statements.js';
import { tempDir } from '../helpers/temp-dir.js';
import { admin, API_KEYS, client, startReceiver, startWebhookService, statement } from './helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const COUNTRIES = ['US', 'GB', 'FR', 'DE', 'CA', 'BE', 'NL', 'PL', 'SE', 'DK'];

/** Appends `perCountry` statements to each country, each reversing the last, straight to the log. */
async function longLog(store: EventStore, perCountry: number): Promise<void> {
  for (const country of COUNTRIES) {
    const events = Array.from({ length: perCountry }, (_, i) =>
      newEvent(
        'StatementRecorded',
        storedStatement({
          statementId: `${country}-${i}`,
          country,
          stance: i % 2 ? 'permits' : 'prohibits',
          effectiveAt: new Date(Date.UTC(2015, 0, 1) + i * 86_400_000).toISOString().slice(0, 10),
        }),
      ),
    );
    await store.append(countryStream(country), events, 'any');
  }
}

it('a replay of a long log never holds other requests up for long, and the receiver gets every change once, in order, then the live ones', async () => {
  const service = await startWebhookService({ listen: true, settings: { concurrencyPerEndpoint: 1 } });
  cleanup.push(() => service.stop());
  const api = client(service);
  const webhooks = service.container.resolve<Webhooks>(Tokens.Webhooks);
  const receiver = await startReceiver();
  cleanup.push(() => receiver.close());

  // Disabled while the log grows: every change is numbered for it, and recorded missed.
  const endpoint = await api.createEndpoint({ url: receiver.url });
  expect((await api.patch(`/v1/webhooks/${endpoint.id}`, { enabled: false })).statusCode).toBe(200);
  await longLog(service.container.resolve<EventStore>(Tokens.EventStore), 500);
  await expect.poll(async () => (await api.get('/health/ready', {})).statusCode, { timeout: 60_000 }).toBe(200);
  await expect.poll(() => webhooks.db.checkpoint('dispatch_seq') === webhooks.feed.lastSeq(), { timeout: 60_000 }).toBe(true);
  const missed = webhooks.feed.after(0, 100_000);
  expect(missed.length).toBeGreaterThanOrEqual(10_000);

  const enabled = (await api.patch(`/v1/webhooks/${endpoint.id}`, { enabled: true })).json();
  let replaying = true;
  // Another client's requests while the replay is written, one every 5 ms. Each is timed from when it
  // was due: a hold-up of the event loop shows wherever it falls, in a request or in the pause before it.
  const waits: number[] = [];
  const probing = (async () => {
    let due = performance.now();
    while (replaying) {
      const live = await fetch(`${service.url}/health/live`);
      expect(live.status).toBe(200);
      const answered = performance.now();
      waits.push(answered - due);
      await sleep(5);
      due = answered + 5;
    }
  })();
  // Changes written while the replay is: they go live, after it.
  const writing = (async () => {
    await expect.poll(() => webhooks.db.pendingCount(endpoint.id), { timeout: 30_000, interval: 5 }).toBeGreaterThan(0);
    for (const [i, country] of ['NO', 'FI', 'EE'].entries()) await api.record(statement(`during-${i}`, { country }));
  })();

  const started = performance.now();
  const replay = await fetch(`${service.url}/v1/webhooks/${endpoint.id}/replay`, {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ after: enabled.lastDisabled.replayAfter }),
  });
  const took = performance.now() - started;
  replaying = false;
  await probing;
  await writing;
  expect(replay.status).toBe(202);
  expect(await replay.json()).toMatchObject({ deliveries: missed.length });

  // Hundreds of milliseconds of work in all, never held at once. Measured against the replay's own time,
  // which a machine busy with other work stretches alike: written in one go, two requests were answered
  // and one waited nearly all of it (2.46 s of 2.54 s); in batches, over 20, the longest some 10-20%.
  const worst = Math.max(...waits);
  const timing = `${missed.length} deliveries in ${took.toFixed(0)} ms; the longest of ${waits.length} other requests waited ${worst.toFixed(0)} ms`;
  expect(worst, timing).toBeLessThan(took / 2);
  expect(waits.length, timing).toBeGreaterThanOrEqual(10);

  const all = webhooks.feed.after(0, 100_000);
  const live = all.slice(missed.length);
  expect(live.length).toBeGreaterThanOrEqual(3);
  await expect.poll(() => receiver.received.length, { timeout: 60_000, interval: 200 }).toBe(all.length);
  expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(all.map((c) => c.id));
  expect(receiver.received.map((r) => r.json.data.sequence)).toEqual(all.map((_, i) => i + 1));
}, 180_000);

it('an endpoint disabled or deleted while its replay is written ends the replay: 409 or 404, and nothing of it is left queued', async () => {
  const service = await startWebhookService({ listen: true });
  cleanup.push(() => service.stop());
  const api = client(service);
  const webhooks = service.container.resolve<Webhooks>(Tokens.Webhooks);
  const receiver = await startReceiver();
  cleanup.push(() => receiver.close());
  await longLog(service.container.resolve<EventStore>(Tokens.EventStore), 500);
  await expect.poll(() => webhooks.db.checkpoint('dispatch_seq') === webhooks.feed.lastSeq() && webhooks.feed.lastSeq() >= 5_000, { timeout: 60_000 }).toBe(true);

  for (const [end, status] of [[{ method: 'PATCH', payload: { enabled: false } }, 409], [{ method: 'DELETE' }, 404]] as const) {
    const endpoint = await api.createEndpoint({ url: receiver.url });
    const replay = fetch(`${service.url}/v1/webhooks/${endpoint.id}/replay`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ after: 0 }),
    });
    // Once its first batches are queued, long before its last.
    await expect.poll(() => webhooks.db.pendingCount(endpoint.id), { timeout: 30_000, interval: 2 }).toBeGreaterThan(0);
    const ended = await service.app.inject({ method: end.method, url: `/v1/webhooks/${endpoint.id}`, headers: admin, ...('payload' in end ? { payload: end.payload } : {}) });
    expect(ended.statusCode, ended.body).toBeLessThan(300);
    const answer = await replay;
    expect(answer.status).toBe(status);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await answer.json()) as { detail: string }).detail).toMatch(status === 409 ? /disabled while the replay was queued/ : /deleted while the replay was queued/);
    expect(webhooks.db.replays()).toEqual([]);
    expect(webhooks.db.pendingCount(endpoint.id)).toBe(0);
  }
  // The endpoints were held while their replays were written, and nothing queued for them was left to send.
  await sleep(500);
  expect(receiver.received).toHaveLength(0);
}, 180_000);

const fixture = fileURLToPath(new URL('./fixtures/service-process.ts', import.meta.url));

async function startChild(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: '0', API_KEYS, SEED_ON_START: 'false', LOG_LEVEL: 'silent', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  for await (const line of createInterface({ input: child.stdout! })) return { child, url: (JSON.parse(line) as { listening: string }).listening };
  throw new Error('the service process exited before it listened');
}

it('a replay cut short by a crash is finished at the next start, each change queued once', async () => {
  const data = tempDir('policy-state-replay-crash-');
  cleanup.push(async () => data.cleanup());
  const log = new SqliteEventStore(path.join(data.dir, 'events.db'));
  await longLog(log, 300);
  await log.close();
  const receiver = await startReceiver();
  cleanup.push(() => receiver.close());
  const call = (base: string, method: string, url: string, body?: unknown) =>
    fetch(`${base}${url}`, { method, headers: { ...admin, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });

  const first = await startChild(data.dir);
  await expect.poll(async () => (await call(first.url, 'GET', '/health/ready')).status, { timeout: 60_000 }).toBe(200);
  const all = readDb(data.dir, (db) => db.prepare<[], { id: string }>('SELECT id FROM changes ORDER BY seq').all().map((c) => c.id), 'read-model.db');
  expect(all.length).toBeGreaterThanOrEqual(8_000);
  // A replay goes as far as the dispatcher has (what comes after goes live, here to no endpoint yet).
  const dispatched = () => readDb(data.dir, (db) => db.prepare<[], { value: number }>("SELECT value FROM checkpoints WHERE name = 'dispatch_seq'").get()!.value);
  await expect.poll(dispatched, { timeout: 60_000 }).toBe(all.length);
  const endpoint = (await (await call(first.url, 'POST', '/v1/webhooks', { url: receiver.url })).json()) as { id: string };
  const replayed = () => readDb(data.dir, (db) => db.prepare<[], { message_id: string }>("SELECT message_id FROM deliveries WHERE origin = 'replay' ORDER BY n").all().map((d) => d.message_id));

  // Killed once the replay's first batches are in webhooks.db, long before its last.
  const replay = call(first.url, 'POST', `/v1/webhooks/${endpoint.id}/replay`, { after: 0 }).catch(() => undefined);
  await expect.poll(() => replayed().length, { timeout: 30_000, interval: 2 }).toBeGreaterThan(0);
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  await replay;
  const atCrash = replayed();
  expect(atCrash.length).toBeLessThan(all.length);
  expect(readDb(data.dir, (db) => db.prepare('SELECT * FROM replays').all())).toHaveLength(1);

  const second = await startChild(data.dir);
  await expect.poll(() => replayed().length, { timeout: 30_000 }).toBe(all.length);
  expect(replayed()).toEqual(all);
  expect(readDb(data.dir, (db) => db.prepare('SELECT * FROM replays').all())).toHaveLength(0);
  await expect.poll(() => receiver.ids().size, { timeout: 60_000, interval: 200 }).toBe(all.length);
  expect(receiver.ids()).toEqual(new Set(all));
  second.child.kill('SIGTERM');
  await once(second.child, 'exit');
}, 180_000);

/** Reads one of the service's SQLite files while it runs (or after it died), as an operator could. */
function readDb<T>(dataDir: string, read: (db: Database.Database) => T, file = 'webhooks.db'): T {
  const db = new Database(path.join(dataDir, file), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}
