// A log restored without its webhook secrets key (DATA_DIR/webhook-secrets.key or
// WEBHOOK_SECRETS_KEY): the service comes up and serves, an endpoint whose sealed
// secret cannot be opened is sent nothing and keeps its deliveries pending, says so,
// and delivers them, signed with the new secret, once an admin has rotated it.
// Real data dirs, the real export and import commands, real receivers.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SECRETS_KEY_FILE } from '../../src/webhooks/secret-box.js';
import { tempDir } from '../helpers/temp-dir.js';
import { API_KEYS, client, recordingLogger, startReceiver, startWebhookService, statement, verify, type Receiver, type TestService } from './helpers.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const cliMain = path.resolve(__dirname, '../../src/cli/main.ts');

/** `policy-state <args>` as an operator runs it, with DATA_DIR set. */
async function cli(dataDir: string, ...args: string[]): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', DATA_DIR: dataDir, API_KEYS },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`policy-state ${args.join(' ')} exited ${code}: ${stderr}`);
}

function dir(prefix: string): string {
  const temp = tempDir(prefix);
  cleanup.push(temp.cleanup);
  return temp.dir;
}

async function receiver(answer?: Receiver['answer']): Promise<Receiver> {
  const r = await startReceiver(answer);
  cleanup.push(() => r.close());
  return r;
}

async function start(dataDir: string, logger?: ReturnType<typeof recordingLogger>['logger']): Promise<TestService> {
  const service = await startWebhookService({ dataDir, logger });
  cleanup.push(() => service.stop());
  return service;
}

type Api = ReturnType<typeof client>;
const endpointOf = async (api: Api, id: string) => (await api.get(`/v1/webhooks/${id}`)).json();
const deliveriesOf = async (api: Api, id: string) =>
  (await api.get(`/v1/webhooks/${id}/deliveries`)).json().items as Array<{ webhookId: string; status: string; attempts: Array<{ error: string | null }> }>;
const unreadableWarnings = (lines: ReturnType<typeof recordingLogger>['lines'], endpointId: string) =>
  lines.filter((line) => line.event === 'endpoint.secret-unreadable' && line.endpointId === endpointId);

/** What an admin sees and can do about an endpoint whose secret cannot be opened, and that it then delivers. */
async function expectHeldThenRotated(api: Api, r: Receiver, endpointId: string, held: string[], lines: ReturnType<typeof recordingLogger>['lines']) {
  // The rest of the service works: ready, and the held endpoint says what is wrong and what to do.
  expect((await api.get('/health/ready', {})).statusCode).toBe(200);
  const view = await endpointOf(api, endpointId);
  expect(view.secretUnreadable).toMatchObject({ type: 'secret.unreadable', rotate: `/v1/webhooks/${endpointId}/rotate-secret` });
  expect(view.secretUnreadable.detail).toMatch(/cannot be opened.*rotated/s);
  expect(view.enabled).toBe(true);
  await expect.poll(async () => (await endpointOf(api, endpointId)).deliveries.pending, { timeout: 10_000 }).toBe(held.length);
  const before = r.received.length;
  // Several looks at the endpoint (the poll runs every 100 ms): still nothing sent, one warning.
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(r.received).toHaveLength(before);
  const deliveries = await deliveriesOf(api, endpointId);
  expect(new Set(deliveries.map((d) => d.webhookId))).toEqual(new Set(held));
  for (const delivery of deliveries) {
    expect(delivery.status).toBe('pending');
    // No attempt since this start: at most the one the last shutdown cut short.
    for (const attempt of delivery.attempts) expect(attempt.error).toBe('interrupted by shutdown');
  }
  expect(unreadableWarnings(lines, endpointId)).toHaveLength(1);
  // A test ping cannot be signed either: refused at once rather than left waiting.
  expect((await api.post(`/v1/webhooks/${endpointId}/test`)).statusCode).toBe(409);

  const rotated = await api.post(`/v1/webhooks/${endpointId}/rotate-secret`);
  expect(rotated.statusCode).toBe(200);
  const { secret, previousSecretValidUntil } = rotated.json() as { secret: string; previousSecretValidUntil: string };
  // The old secret cannot sign, so it is not kept signing beside the new one.
  expect(Date.parse(previousSecretValidUntil)).toBeLessThanOrEqual(Date.now());

  const delivered = () => new Set(r.received.slice(before).filter((x) => x.status === 200).map((x) => String(x.headers['webhook-id'])));
  await expect.poll(delivered, { timeout: 10_000 }).toEqual(new Set(held));
  for (const received of r.received.slice(before)) {
    verify(secret, received);
    expect(String(received.headers['webhook-signature']).split(' ')).toHaveLength(1);
  }
  await expect.poll(async () => (await deliveriesOf(api, endpointId)).map((d) => d.status), { timeout: 5_000 }).toEqual(held.map(() => 'succeeded'));
  expect((await endpointOf(api, endpointId)).secretUnreadable).toBeNull();
  expect(unreadableWarnings(lines, endpointId)).toHaveLength(1);
}

describe('a log restored without its webhook secrets key', () => {
  it('exported and imported into an empty DATA_DIR: the service starts, holds the endpoint, serves the rest, and delivers after a rotation', async () => {
    const original = dir('policy-state-secrets-a-');
    const restored = dir('policy-state-secrets-b-');
    const r = await receiver();
    const first = await start(original);
    const api1 = client(first);
    const endpoint = await api1.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api1.record(statement('us-ban'));
    await expect.poll(() => r.ids().size, { timeout: 10_000 }).toBe(1);
    await first.stop();

    const log = path.join(dir('policy-state-secrets-log-'), 'log.jsonl');
    await cli(original, 'export', '--out', log);
    await cli(restored, 'import', log);

    const { logger, lines } = recordingLogger();
    const service = await start(restored, logger);
    const api = client(service);
    // A new endpoint, its secret sealed under the restored service's new key, is served as usual.
    const witness = await receiver();
    const fresh = await api.createEndpoint({ url: witness.url, types: ['statement.recorded'] });
    await api.record(statement('fr-sites', { country: 'FR', stance: 'permits' }));
    await api.record(statement('de-taurus', { country: 'DE' }));
    const recorded = (await api.changes()).filter((c) => c.type === 'statement.recorded');
    expect(recorded).toHaveLength(3);
    await expect.poll(() => witness.ids().size, { timeout: 10_000 }).toBe(2);
    for (const received of witness.received) verify(fresh.secret, received);
    expect((await endpointOf(api, fresh.id)).secretUnreadable).toBeNull();

    // The restored endpoint: the change it had before the restore (dispatched again in the new
    // webhooks.db, same webhook-id) and the two new ones wait for its secret to be rotated.
    await expectHeldThenRotated(api, r, endpoint.id, recorded.map((c) => c.id), lines);
  });

  it('the same DATA_DIR with another key: deliveries pending in webhooks.db at start are held, not sent, and go out after a rotation', async () => {
    const dataDir = dir('policy-state-secrets-c-');
    let slow = true;
    const r = await receiver(() => (slow ? { status: 503, delayMs: 30_000 } : { status: 200 }));
    const first = await start(dataDir);
    const api1 = client(first);
    const endpoint = await api1.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api1.record(statement('us-ban'));
    // Stopped while the attempt is in flight: the delivery stays pending in webhooks.db.
    await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(1);
    await first.stop();
    slow = false;
    expect(r.ids().size).toBe(0);

    writeFileSync(path.join(dataDir, SECRETS_KEY_FILE), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const { logger, lines } = recordingLogger();
    const service = await start(dataDir, logger);
    const api = client(service);
    const held = (await api.changes()).filter((c) => c.type === 'statement.recorded').map((c) => c.id);
    expect(held).toHaveLength(1);
    await expectHeldThenRotated(api, r, endpoint.id, held, lines);
  });
});
