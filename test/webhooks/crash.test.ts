// At least once, across a crash: the service runs as a child process, is
// killed with SIGKILL while deliveries are pending (a receiver down, another
// holding requests, changes not yet dispatched), restarts on the same
// DATA_DIR, and every change still arrives at every endpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { API_KEYS, admin, closedPort, startReceiver, statement, verify, writer, type Receiver } from './helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/service-process.ts', import.meta.url));
const data = tempDir('policy-state-webhooks-crash-');
const children: ChildProcess[] = [];
const receivers: Receiver[] = [];
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const r of receivers) await r.close();
  data.cleanup();
});

async function startChild(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: {
      ...process.env,
      DATA_DIR: data.dir,
      PORT: '0',
      API_KEYS,
      SEED_ON_START: 'false',
      LOG_LEVEL: 'silent',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_RETRY_SCHEDULE_MS: ['0', ...Array(60).fill('250')].join(','),
      WEBHOOK_CONCURRENCY_PER_ENDPOINT: '2',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) {
    const { listening } = JSON.parse(line) as { listening: string };
    return { child, url: listening };
  }
  throw new Error('the service process exited before it listened');
}

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = admin) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, json: (await response.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- each caller reads the fields it asked for
}

it('every change arrives after a SIGKILL with deliveries pending and a restart on the same DATA_DIR', async () => {
  const downPort = await closedPort();
  let slowAnswers = true;
  const slow = await startReceiver(() => (slowAnswers ? { status: 200, delayMs: 60_000 } : { status: 200 }));
  const healthy = await startReceiver();
  receivers.push(slow, healthy);

  const first = await startChild();
  const endpoints = {
    down: (await call(first.url, 'POST', '/v1/webhooks', { url: `http://127.0.0.1:${downPort}/hooks` })).json,
    slow: (await call(first.url, 'POST', '/v1/webhooks', { url: slow.url })).json,
    healthy: (await call(first.url, 'POST', '/v1/webhooks', { url: healthy.url })).json,
  };
  for (const e of Object.values(endpoints)) expect(e.secret).toMatch(/^whsec_/);

  const countries = ['US', 'FR', 'DE', 'GB', 'CA', 'BE'];
  for (const [i, country] of countries.entries()) {
    const recorded = await call(first.url, 'POST', '/v1/statements', statement(`crash-${i}`, { country, stance: i % 2 ? 'permits' : 'prohibits' }), writer);
    expect(recorded.status).toBe(201);
  }
  const before = (await call(first.url, 'GET', '/v1/changes?limit=500')).json.items as Array<{ id: string }>;
  // The healthy endpoint shows the service is delivering; the down one has failed attempts, the slow one holds requests.
  await expect.poll(() => healthy.ids().size, { timeout: 15_000 }).toBe(before.length);
  await expect
    .poll(async () => (await call(first.url, 'GET', `/v1/webhooks/${endpoints.down.id}/deliveries`)).json.items.some((d: { attempts: unknown[] }) => d.attempts.length > 0), { timeout: 10_000 })
    .toBe(true);
  await expect.poll(() => slow.received.length, { timeout: 10_000 }).toBe(2);

  // More changes, acknowledged and then the process dies at once: some are not even dispatched yet.
  for (const [i, country] of ['NL', 'PL'].entries()) {
    const recorded = await call(first.url, 'POST', '/v1/statements', statement(`crash-late-${i}`, { country, stance: 'permits' }), writer);
    expect(recorded.status).toBe(201);
  }
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');

  // The receivers come back; the service restarts on the same data.
  receivers.push(await startReceiver(undefined, downPort));
  const down = receivers[receivers.length - 1];
  slowAnswers = false;
  const second = await startChild();
  const all = (await call(second.url, 'GET', '/v1/changes?limit=500')).json.items as Array<{ id: string }>;
  expect(all.length).toBeGreaterThan(before.length);
  const everyId = new Set(all.map((c) => c.id));

  for (const [receiver, endpoint] of [[down, endpoints.down], [slow, endpoints.slow], [healthy, endpoints.healthy]] as const) {
    await expect.poll(() => receiver.ids(), { timeout: 20_000 }).toEqual(everyId);
    for (const received of receiver.received.filter((r) => r.status === 200)) verify(endpoint.secret, received);
  }
  second.child.kill('SIGTERM');
  await once(second.child, 'exit');
}, 60_000);
