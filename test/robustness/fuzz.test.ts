// Bad input never gets in and never takes the service down: at least 10,000
// generated bad requests, spread over every operation in /openapi.json, each
// answered with a 4xx problem document; afterwards the process still serves,
// the log and the read model are exactly as before, and nothing was logged
// as a warning or an error.
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startTestService, untilReady, type TestService } from '../helpers/service.js';
import { badRequests, operationsOf, type BadRequest, type Operation } from './bad-requests.js';

const TOTAL = 10_000;

let service: TestService;
const logLines: string[] = [];
beforeAll(async () => {
  const sink = new Writable({ write: (chunk, _encoding, done) => (logLines.push(String(chunk)), done()) });
  service = await startTestService({ env: { SEED_ON_START: 'true' }, logger: pino({ level: 'warn' }, sink) });
  await untilReady(service.app);
});
afterAll(async () => service?.stop());

/** Where the log and the read model stand: the last event, and the read model's fingerprint there. */
async function state() {
  const fingerprint = (await service.app.inject('/v1/audit/fingerprint')).json();
  let head = 0;
  for (let after = 0; ; ) {
    const page = (await service.app.inject(`/v1/events?after=${after}&limit=500`)).json();
    if (page.items.length === 0) break;
    after = head = page.nextAfter;
  }
  const changes = (await service.app.inject('/v1/changes?limit=500')).json().items.length;
  return { head, changes, fingerprint };
}

async function send(request: BadRequest) {
  // The change stream never ends on its own: a request that opened it would hang here, so it is bounded.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within 10 s: ${request.method} ${request.url.slice(0, 200)}`)), 10_000)));
  try {
    return await Promise.race([service.app.inject({ method: request.method as 'GET', url: request.url, headers: request.headers, payload: request.payload }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('fuzzing every route with bad requests', () => {
  it(`answers ${TOTAL.toLocaleString('en')}+ generated bad requests with 4xx problem documents and changes nothing`, async () => {
    const before = await state();
    expect(before.head).toBeGreaterThan(0);
    const operations: Operation[] = operationsOf((await service.app.inject('/openapi.json')).json());
    expect(operations.length).toBeGreaterThanOrEqual(20);

    const tally = new Map<string, number>();
    const statuses = new Map<number, number>();
    const kinds = new Map<string, number>();
    const perOperation = Math.ceil(TOTAL / operations.length);
    for (const op of operations) {
      await fc.assert(
        fc.asyncProperty(badRequests(op, admin), async (request) => {
          const response = await send(request);
          const where = `${op.method} ${op.path} [${request.kind}] -> ${response.statusCode} ${response.body.slice(0, 300)}`;
          expect(response.statusCode, where).toBeGreaterThanOrEqual(400);
          expect(response.statusCode, where).toBeLessThan(500);
          expect(response.headers['content-type'], where).toMatch(/^application\/problem\+json/);
          const problem = response.json();
          expect(problem, where).toMatchObject({ type: expect.any(String), title: expect.any(String), status: response.statusCode, detail: expect.any(String) });
          expect(response.body, where).not.toMatch(/\bat [\w.<>]+ \(|node_modules|\/work\//); // no stack traces, no paths
          tally.set(`${op.method} ${op.path}`, (tally.get(`${op.method} ${op.path}`) ?? 0) + 1);
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          const category = request.kind.replace(/^(path|query|header) [\w-]+: /, '$1: ').replace(/^body (\w+): /, 'body: ').replace(/^body: [\w.]+: /, 'body: ');
          kinds.set(category, (kinds.get(category) ?? 0) + 1);
        }),
        { numRuns: perOperation },
      );
    }

    const sent = [...tally.values()].reduce((a, b) => a + b, 0);
    expect(sent).toBeGreaterThanOrEqual(TOTAL);
    expect(tally.size).toBe(operations.length);
    console.info(`fuzz: ${sent} bad requests over ${operations.length} operations; answers by status: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; by what was wrong: ${JSON.stringify(Object.fromEntries([...kinds].sort((a, b) => b[1] - a[1])))}`);

    // Still up, and nothing moved.
    expect((await service.app.inject('/health/live')).statusCode).toBe(200);
    expect((await service.app.inject('/health/ready')).statusCode).toBe(200);
    expect(await state()).toEqual(before);
    expect(logLines.filter((line) => JSON.parse(line).level >= 40)).toEqual([]);
  }, 240_000);
});
