// GET /v1/changes/stream with a real HTTP client on a real port: the feed as
// Server-Sent Events, resumed exactly with Last-Event-ID.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startWebhookService, statement, type TestService } from './helpers.js';

interface SseEvent {
  /** The last event id after this event (an event without an id field keeps the one before). */
  id: string | undefined;
  /** The id field of this event, if it had one. */
  ownId: string | undefined;
  event: string;
  data: { id: string; type: string; position: number; recordedAt: string };
}

/** A minimal EventSource: parses the stream as it arrives. */
function connect(url: string, headers: Record<string, string> = {}) {
  const events: SseEvent[] = [];
  // As an EventSource: an event without an id leaves the last id as it was; an id alone sets it.
  let lastEventId: string | undefined;
  let req: ClientRequest;
  const opened = new Promise<IncomingMessage>((resolve, reject) => {
    req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':') && l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
          if (fields.id !== undefined) lastEventId = fields.id;
          if (fields.data) events.push({ id: lastEventId, ownId: fields.id, event: fields.event, data: JSON.parse(fields.data) });
        }
      });
      resolve(res);
    });
    req.on('error', reject);
    req.end();
  });
  return { events, opened, lastEventId: () => lastEventId, close: () => req.destroy() };
}

let service: TestService;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  // The test's requests come from 127.0.0.1, as through a proxy on this machine.
  service = await startWebhookService({ listen: true, env: { TRUST_PROXY: 'loopback' } });
  api = client(service);
});
afterAll(async () => service.stop());

it('streams the change feed, then resumes from Last-Event-ID with nothing missed and nothing twice', async () => {
  await api.record(statement('sse-us', { country: 'US' }));
  await api.record(statement('sse-fr', { country: 'FR', stance: 'permits' }));

  const first = connect(`${service.url}/v1/changes/stream?after=0`);
  const response = await first.opened;
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toContain('text/event-stream');
  // The stream writes its own head (the reply is hijacked): the security headers must be there all the same.
  expect(response.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' });
  expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  // HSTS only over https (RFC 6797, 7.2): here, when the trusted proxy says the client used it.
  expect(response.headers['strict-transport-security']).toBeUndefined();
  const overTls = connect(`${service.url}/v1/changes/stream`, { 'x-forwarded-proto': 'https' });
  expect((await overTls.opened).headers['strict-transport-security']).toMatch(/^max-age=\d+/);
  overTls.close();
  let feed = await api.changes();
  await expect.poll(() => first.events.length, { timeout: 5_000 }).toBe(feed.length);

  // Live: a change recorded while connected arrives on the open stream.
  await api.record(statement('sse-de', { country: 'DE' }));
  feed = await api.changes();
  await expect.poll(() => first.events.length, { timeout: 5_000 }).toBe(feed.length);
  expect(first.events.map((e) => e.data)).toEqual(feed);
  expect(first.events.map((e) => e.event)).toEqual(feed.map((c) => c.type));
  first.close();

  // Offline: more changes; the client comes back with the last id it saw.
  const lastSeen = first.events[first.events.length - 1].id!;
  await api.record(statement('sse-gb', { country: 'GB' }));
  await api.record(statement('sse-ca', { country: 'CA', stance: 'permits' }));
  const all = await api.changes();
  const resumed = connect(`${service.url}/v1/changes/stream`, { 'last-event-id': lastSeen });
  await resumed.opened;
  await expect.poll(() => resumed.events.length, { timeout: 5_000 }).toBe(all.length - feed.length);
  expect([...first.events, ...resumed.events].map((e) => e.data)).toEqual(all);
  // An id is the cursor through the change's position and day, as GET /v1/changes pages with, sent
  // on the last change of each: a client that drops inside a position's changes gets them all again.
  const events = [...first.events, ...resumed.events];
  events.forEach(({ ownId, data }, i) => {
    const endsPosition = events[i + 1]?.data.position !== data.position;
    expect(ownId).toBe(endsPosition ? `${data.position}@${data.recordedAt.slice(0, 10)}` : undefined);
  });
  resumed.close();
});

it('without a position or Last-Event-ID, starts with the next change; after= starts after a log position', async () => {
  const live = connect(`${service.url}/v1/changes/stream`);
  await live.opened;
  const recorded = await api.record(statement('sse-pl', { country: 'PL', stance: 'permits' }));
  const next = (await api.changes()).filter((c) => c.position === recorded.position);
  await expect.poll(() => live.events.map((e) => e.data), { timeout: 5_000 }).toEqual(next);
  live.close();

  const fromPosition = connect(`${service.url}/v1/changes/stream?after=${recorded.position - 1}`);
  await fromPosition.opened;
  await expect.poll(() => fromPosition.events.map((e) => e.data), { timeout: 5_000 }).toEqual(next);
  // Left open on purpose: stopping the service ends open streams instead of waiting for them.

  const bad = await api.get('/v1/changes/stream?after=-1', {});
  expect(bad.statusCode).toBe(400);
});

it('an empty Last-Event-ID is none, as the WHATWG spec reads it: the stream starts as it would without one', async () => {
  const last = (await api.changes()).at(-1) as unknown as { position: number; recordedAt: string };
  const live = connect(`${service.url}/v1/changes/stream`, { 'last-event-id': '' });
  expect((await live.opened).statusCode).toBe(200);
  // With the next change, giving its place at once.
  await expect.poll(() => live.lastEventId(), { timeout: 2_000 }).toBe(`${last.position}@${last.recordedAt.slice(0, 10)}`);
  const recorded = await api.record(statement('sse-empty-id', { country: 'SE' }));
  const next = (await api.changes()).filter((c) => c.position === recorded.position);
  await expect.poll(() => live.events.map((e) => e.data), { timeout: 5_000 }).toEqual(next);
  live.close();

  // Or after= when given.
  const fromPosition = connect(`${service.url}/v1/changes/stream?after=${recorded.position - 1}`, { 'last-event-id': '' });
  expect((await fromPosition.opened).statusCode).toBe(200);
  await expect.poll(() => fromPosition.events.map((e) => e.data), { timeout: 5_000 }).toEqual(next);
  fromPosition.close();
});

describe('a stream started with the next change gives its place at once', () => {
  /** As an EventSource whose connection drops before the first change: it reconnects with the last id it has. */
  const dropsAndResumes = async (on: TestService) => {
    const live = connect(`${on.url}/v1/changes/stream`);
    await live.opened;
    await expect.poll(() => live.lastEventId(), { timeout: 2_000 }).toBeDefined();
    live.close();
    expect(live.events).toEqual([]);
    const recorded = await client(on).record(statement('sse-dropped', { country: 'NL' }));
    const missed = (await client(on).changes()).filter((c) => c.position === recorded.position);
    const resumed = connect(`${on.url}/v1/changes/stream`, { 'last-event-id': live.lastEventId()! });
    await resumed.opened;
    await expect.poll(() => resumed.events.map((e) => e.data), { timeout: 5_000 }).toEqual(missed);
    resumed.close();
  };

  it('after the changes already in the feed: a client that drops before the next one comes misses nothing', async () => {
    await api.record(statement('sse-before-drop', { country: 'BE' }));
    await dropsAndResumes(service);
  });

  it('at the start of an empty feed', async () => {
    const empty = await startWebhookService({ listen: true });
    try {
      await dropsAndResumes(empty);
    } finally {
      await empty.stop();
    }
  });
});

it('a reader slower than the stream is waited for without a listener left behind at each wait', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.name);
  process.on('warning', onWarning);
  try {
    // About 2 MB of changes, more than the socket buffers hold, so the stream waits for the reader many times.
    const quote = 'The words as reported, at length. '.repeat(140);
    for (let i = 0; i < 400; i++) {
      const body = statement(`sse-slow-${i}`, { country: 'CA', effectiveAt: `2023-01-${String(1 + (i % 28)).padStart(2, '0')}` });
      await api.record({ ...body, sources: [{ ...body.sources[0], quote }] });
    }
    const head = (await api.get('/health/ready', {})).json().position as number;
    const slow = connect(`${service.url}/v1/changes/stream?after=0`);
    const res = await slow.opened;
    // Reads a chunk, then nothing for a moment.
    res.on('data', () => {
      res.pause();
      setTimeout(() => res.resume(), 2);
    });
    await expect.poll(() => slow.events.at(-1)?.data.position, { timeout: 30_000 }).toBe(head);
    slow.close();
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  } finally {
    process.off('warning', onWarning);
  }
}, 60_000);

it('answers HEAD with the stream\'s headers and ends, instead of holding the connection with nothing sent', async () => {
  const answer = await new Promise<IncomingMessage | 'no answer'>((resolve, reject) => {
    const req = request(`${service.url}/v1/changes/stream`, { method: 'HEAD' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    req.setTimeout(3_000, () => {
      req.destroy();
      resolve('no answer');
    });
    req.on('error', reject);
    req.end();
  });
  expect(answer).not.toBe('no answer');
  const res = answer as IncomingMessage;
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toContain('text/event-stream');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
});

it('refuses to start past the head of the log or after tomorrow, as GET /v1/changes does, naming where the place came from', async () => {
  const head = Math.max(...(await api.changes()).map((c) => c.position));
  const refused = async (url: string, headers: Record<string, string>, path: string) => {
    const answer = await api.get(url, headers);
    expect(answer.statusCode, answer.body).toBe(400);
    expect(answer.headers['content-type']).toContain('application/problem+json');
    expect(answer.json().errors).toEqual([expect.objectContaining({ path })]);
  };
  await refused(`/v1/changes/stream?after=${head + 1000}`, {}, 'querystring.after');
  await refused('/v1/changes/stream', { 'last-event-id': `${head + 1000}@2024-06-01` }, 'headers.last-event-id');
  await refused(`/v1/changes/stream?after=${head}@2999-01-01`, {}, 'querystring.after');
  // Each is a 400 on the page too.
  expect((await api.get(`/v1/changes?after=${head + 1000}`, {})).statusCode).toBe(400);
});

it('takes at most STREAMS_PER_ADDRESS open streams from one address: the next is a 429, and closing one makes room', async () => {
  const capped = await startWebhookService({ listen: true, env: { STREAMS_PER_ADDRESS: '2' } });
  try {
    const first = connect(`${capped.url}/v1/changes/stream`);
    const second = connect(`${capped.url}/v1/changes/stream`);
    expect((await first.opened).statusCode).toBe(200);
    expect((await second.opened).statusCode).toBe(200);
    const third = await client(capped).get('/v1/changes/stream', {});
    expect(third.statusCode).toBe(429);
    expect(third.headers['content-type']).toContain('application/problem+json');
    expect(third.headers['retry-after']).toBe('5');
    expect(third.json().detail).toContain('at most 2 change streams');

    first.close();
    // The server sees the close a moment later: try until it has.
    const tries: Array<ReturnType<typeof connect>> = [];
    await expect.poll(async () => {
      const attempt = connect(`${capped.url}/v1/changes/stream`);
      tries.push(attempt);
      return (await attempt.opened).statusCode;
    }, { timeout: 5_000 }).toBe(200);
    for (const attempt of tries) attempt.close();
    second.close();
  } finally {
    await capped.stop();
  }
});
