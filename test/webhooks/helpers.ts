// What the webhook tests share: the real service (temp DATA_DIR, fast retry
// settings), real HTTP receivers on 127.0.0.1, and statements to record.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';
import { addDays, dayOf } from '../../projections/time.js';
import { Tokens } from '../../src/composition.js';
import { loadConfig } from '../../src/config.js';
import type { ProjectionRunner } from '../../src/read-model/projection-runner.js';
import { startService, type Service } from '../../src/service.js';
import type { Resolver } from '../../src/webhooks/address-safety.js';
import type { WebhookSettings } from '../../src/webhooks/settings.js';
import { tempDir } from '../helpers/temp-dir.js';

export const ADMIN_KEY = 'admin-secret-for-webhook-tests';
export const WRITER_KEY = 'writer-secret-for-webhook-tests';
export const admin = { authorization: `Bearer ${ADMIN_KEY}` };
export const writer = { authorization: `Bearer ${WRITER_KEY}` };
export const API_KEYS = `admin:${ADMIN_KEY}:admin,writer:${WRITER_KEY}:writer`;

/** Fast enough for tests, still the real schedule mechanics. */
export const FAST: Partial<WebhookSettings> = {
  retryScheduleMs: [0, 50, 100, 100, 100, 100, 100, 100],
  retryJitter: 0.2,
  pollIntervalMs: 100,
  shutdownGraceMs: 100,
};

export interface TestService extends Service {
  dataDir: string;
  url?: string;
  stop(): Promise<void>;
}

export async function startWebhookService(
  options: {
    settings?: Partial<WebhookSettings>;
    env?: Record<string, string>;
    dataDir?: string;
    resolve?: Resolver;
    listen?: boolean;
    logger?: Logger;
    /** The service's clock (a test moves it to start a new day); the real one by default. */
    now?: () => Date;
  } = {},
): Promise<TestService> {
  const temp = options.dataDir ? undefined : tempDir('policy-state-webhooks-');
  const dataDir = options.dataDir ?? temp!.dir;
  const config = loadConfig({
    DATA_DIR: dataDir,
    API_KEYS,
    SEED_ON_START: 'false',
    LOG_LEVEL: 'silent',
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    ...options.env,
  });
  const service = await startService(config, options.logger ?? pino({ level: 'silent' }), options.now, {
    webhooks: { settings: { ...FAST, ...options.settings }, resolve: options.resolve },
  });
  await service.app.ready();
  let url: string | undefined;
  if (options.listen) url = await service.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    ...service,
    dataDir,
    url,
    stop: async () => {
      await service.close();
      temp?.cleanup();
    },
  };
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: { type: string; timestamp: string; data: Record<string, unknown> & { changeId?: string; position?: number; sequence?: number } };
  at: number;
  /** The status this receiver answered with. */
  status?: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
  /** Sends the status and the first half of the body at once, and the rest this much later. */
  bodyDelayMs?: number;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** How to answer each request; 200 by default. */
  answer: (request: Received, index: number) => Answer;
  /** The webhook-ids it accepted (2xx), deduplicated as a receiver would. */
  ids(): Set<string>;
  close(): Promise<void>;
}

export async function startReceiver(answer: Receiver['answer'] = () => ({ status: 200 }), port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const pending = new Set<ServerResponse>();
  const receiver: Receiver = {
    url: '',
    port: 0,
    received,
    answer,
    ids: () => new Set(received.filter((r) => r.status !== undefined && r.status < 300).map((r) => String(r.headers['webhook-id']))),
    close: async () => {
      for (const response of pending) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const entry: Received = { headers: request.headers, body, json: JSON.parse(body), at: Date.now() };
      received.push(entry);
      const { status, headers = {}, body: answerBody = 'ok', delayMs = 0, bodyDelayMs = 0 } = receiver.answer(entry, received.length - 1);
      entry.status = status;
      pending.add(response);
      const send = () => {
        if (response.destroyed) return pending.delete(response);
        if (bodyDelayMs === 0) {
          pending.delete(response);
          return response.writeHead(status, headers).end(answerBody);
        }
        const half = Math.ceil(answerBody.length / 2);
        response.writeHead(status, headers);
        response.write(answerBody.slice(0, half));
        setTimeout(() => {
          pending.delete(response);
          if (!response.destroyed) response.end(answerBody.slice(half));
        }, bodyDelayMs).unref();
      };
      if (delayMs > 0) setTimeout(send, delayMs).unref();
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hooks`;
  return receiver;
}

/**
 * A clock that runs with the real one and can be moved forward (`advance(ms)`), and the
 * service's day roll on it: `nextDay()` moves it just past the next midnight UTC (after the roll's
 * grace period) and rolls the day once the read model has applied every event.
 */
export function movableClock() {
  let offset = 0;
  const now = () => new Date(Date.now() + offset);
  return {
    now,
    /** Today as the service's clock has it (the day events recorded now belong to). */
    today: () => dayOf(now().getTime()),
    tomorrow: () => addDays(dayOf(now().getTime()), 1),
    /** Moves the clock forward, as if that much time had passed. */
    advance: (ms: number) => {
      offset += ms;
    },
    nextDay: async (service: Service) => {
      const tomorrow = addDays(dayOf(now().getTime()), 1);
      offset = Date.parse(`${tomorrow}T00:00:30.000Z`) - Date.now();
      const runner = service.container.resolve<ProjectionRunner>(Tokens.Runner);
      await expect.poll(() => runner.rollDay(), { timeout: 5_000 }).toBe(true);
      return tomorrow;
    },
  };
}

/** A port nothing listens on (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Checks a delivery as a receiver would, with the standardwebhooks package; throws when it does not verify. */
export function verify(secret: string, received: Received): unknown {
  return new Webhook(secret).verify(received.body, {
    'webhook-id': String(received.headers['webhook-id']),
    'webhook-timestamp': String(received.headers['webhook-timestamp']),
    'webhook-signature': String(received.headers['webhook-signature']),
  });
}

export function statement(
  statementId: string,
  overrides: Partial<{ country: string; stance: string; effectiveAt: string; reportedAt: string; scope: Record<string, unknown>; attribution: string }> = {},
) {
  const effectiveAt = overrides.effectiveAt ?? '2024-05-28';
  return {
    statementId,
    country: overrides.country ?? 'US',
    stance: overrides.stance ?? 'prohibits',
    scope: overrides.scope ?? {},
    speaker: { name: 'A spokesperson', attribution: overrides.attribution ?? 'official' },
    sources: [{ publisher: 'Wire', title: `Report on ${statementId}`, publishedAt: overrides.reportedAt ?? effectiveAt, quote: 'what was said' }],
    effectiveAt,
    reportedAt: overrides.reportedAt ?? effectiveAt,
  };
}

export function client(service: Service) {
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = admin) =>
    service.app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return {
    call,
    get: (url: string, headers?: Record<string, string>) => call('GET', url, undefined, headers),
    post: (url: string, payload?: unknown, headers?: Record<string, string>) => call('POST', url, payload ?? {}, headers),
    patch: (url: string, payload: unknown, headers?: Record<string, string>) => call('PATCH', url, payload, headers),
    delete: (url: string, headers?: Record<string, string>) => call('DELETE', url, undefined, headers),
    record: async (body: unknown) => {
      const response = await call('POST', '/v1/statements', body, writer);
      if (response.statusCode !== 201) throw new Error(`recording failed: ${response.statusCode} ${response.body}`);
      return response.json() as { statementId: string; position: number };
    },
    createEndpoint: async (body: Record<string, unknown>) => {
      const response = await call('POST', '/v1/webhooks', body);
      if (response.statusCode !== 201) throw new Error(`creating the endpoint failed: ${response.statusCode} ${response.body}`);
      return response.json() as { id: string; secret: string } & Record<string, unknown>;
    },
    /** Every change in the feed, oldest first. */
    changes: async () => (await call('GET', '/v1/changes?limit=500', undefined, {})).json().items as Array<{ id: string; type: string; country: string; position: number; data: Record<string, unknown> }>,
  };
}

/** A logger that keeps what it writes (warn and above unless told), for tests that check what was logged. */
export function recordingLogger(level = 'warn'): { logger: Logger; lines: Array<Record<string, unknown> & { msg: string; level: number }> } {
  const lines: Array<Record<string, unknown> & { msg: string; level: number }> = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}
