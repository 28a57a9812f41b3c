// The changes of a new day carry the log position of the last event before it.
// A reader that had read the feed through that position, by GET /v1/changes or
// on the stream, must still get them: the cursor names the day it read through.
import Database from 'better-sqlite3';
import { request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Tokens } from '../../src/composition.js';
import type { ProjectionRunner } from '../../src/read-model/projection-runner.js';
import type { ReadModel } from '../../src/read-model/read-model.js';
import { addDays, dayOf } from '../../projections/time.js';
import { kirby, startTestService, writer, type TestService } from '../helpers/service.js';

let service: TestService;
let address: string;
let clock = Date.now();
beforeAll(async () => {
  service = await startTestService({ now: () => new Date(clock) });
  address = await service.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => service.stop());

interface Change {
  id: string;
  type: string;
  position: number;
  recordedAt: string;
  data: Record<string, unknown>;
}
const get = async (url: string) => (await service.app.inject({ method: 'GET', url })).json() as { items: Change[]; nextAfter: string };

/** The SSE events that arrive within `ms`, with the id each leaves as the last event id (which carries over events without one). */
async function streamFor(ms: number, headers: Record<string, string>, query = '', meanwhile?: () => Promise<void>): Promise<Array<{ lastEventId: string | undefined; change: Change }>> {
  const received: Array<{ lastEventId: string | undefined; change: Change }> = [];
  await new Promise<void>((resolve, reject) => {
    const req = request(`${address}/v1/changes/stream${query}`, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      let lastEventId: string | undefined;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end; (end = buffer.indexOf('\n\n')) >= 0; buffer = buffer.slice(end + 2)) {
          const lines = buffer.slice(0, end).split('\n');
          for (const line of lines) if (line.startsWith('id: ')) lastEventId = line.slice(4);
          const data = lines.find((line) => line.startsWith('data: '));
          if (data) received.push({ lastEventId, change: JSON.parse(data.slice(6)) as Change });
        }
      });
    });
    req.on('error', reject);
    req.end();
    if (meanwhile) setTimeout(() => void meanwhile().catch(reject), ms / 3);
    setTimeout(() => {
      req.destroy();
      resolve();
    }, ms);
  });
  return received;
}

it('a reader of GET /v1/changes and of the stream gets the changes a new day brings to the last position it read', async () => {
  const today = dayOf(clock);
  const tomorrow = addDays(today, 1);
  const created = await service.app.inject({ method: 'POST', url: '/v1/statements', headers: writer, payload: { ...kirby, country: 'NO', stance: 'permits', effectiveAt: tomorrow } });
  expect(created.statusCode, created.body).toBe(201);
  const position = created.json().position as number;

  // Read through the head: the cursor names the position and the day read through.
  const read = await get('/v1/changes?after=0&limit=500');
  expect(read.items.map((c) => [c.type, c.position])).toEqual([['statement.recorded', position]]);
  expect(read.nextAfter).toBe(`${position}@${today}`);
  // Following from now with the bare head position: nothing yet, and a cursor that keeps the place.
  const following = await get(`/v1/changes?after=${position}`);
  expect(following).toEqual({ items: [], nextAfter: `${position}@${today}` });
  const streamed = await streamFor(300, {}, '?after=0');
  const lastEventId = streamed[streamed.length - 1].lastEventId!;
  expect(lastEventId).toBe(`${position}@${today}`);

  // Midnight: the statement takes effect, and its change carries the head position.
  clock = Date.parse(`${tomorrow}T00:01:00.000Z`);
  expect(await service.container.resolve<ProjectionRunner>(Tokens.Runner).rollDay()).toBe(true);

  for (const cursor of [read.nextAfter, following.nextAfter]) {
    const next = await get(`/v1/changes?after=${cursor}`);
    expect(next.items.map((c) => [c.type, c.position, c.recordedAt])).toEqual([['position.changed', position, `${tomorrow}T00:00:00.000Z`]]);
    // Norway had nothing on record the day before; from this day its permission with no condition holds.
    expect(next.items[0].data).toMatchObject({
      at: tomorrow,
      statementId: created.json().statementId,
      previous: { status: 'unknown', decidingStatementId: null },
      current: { status: 'unrestricted', decidingStatementId: created.json().statementId },
    });
    expect(next.nextAfter).toBe(`${position}@${tomorrow}`);
    expect(await get(`/v1/changes?after=${next.nextAfter}`)).toEqual({ items: [], nextAfter: `${position}@${tomorrow}` });
  }
  // The stream resumed with the last id it sent gets the same change, and nothing twice.
  const resumed = await streamFor(300, { 'last-event-id': lastEventId });
  expect(resumed.map(({ change }) => [change.type, change.position])).toEqual([['position.changed', position]]);
  expect(resumed[0].lastEventId).toBe(`${position}@${tomorrow}`);
});

it('a roll over several days writes its changes day by day, so no cursor passes a day of one country before an earlier day of another', async () => {
  const today = dayOf(clock);
  const record = async (country: string, effectiveAt: string) => {
    const created = await service.app.inject({ method: 'POST', url: '/v1/statements', headers: writer, payload: { ...kirby, country, stance: 'permits', effectiveAt } });
    expect(created.statusCode, created.body).toBe(201);
    return created.json().position as number;
  };
  // Canada (sorted first) changes on the second day, Britain on the first.
  await record('CA', addDays(today, 2));
  const position = await record('GB', addDays(today, 1));
  const before = (await get(`/v1/changes?after=${position}`)).nextAfter;
  const lastEventId = `${position}@${today}`;

  // The service was down for two days: one roll covers both.
  clock = Date.parse(`${addDays(today, 2)}T08:00:00.000Z`);
  expect(await service.container.resolve<ProjectionRunner>(Tokens.Runner).rollDay()).toBe(true);

  const rolled = await get(`/v1/changes?after=${before}`);
  expect(rolled.items.map((c) => [c.type, c.position, c.recordedAt.slice(0, 10)])).toEqual([
    ['position.changed', position, addDays(today, 1)],
    ['position.changed', position, addDays(today, 2)],
  ]);
  expect(rolled.items.map((c) => (c as Change & { country: string }).country)).toEqual(['GB', 'CA']);
  // A stream client that dropped after the first day's change resumes with the second's, not nothing.
  const streamed = await streamFor(300, { 'last-event-id': lastEventId });
  expect(streamed.map(({ lastEventId: id }) => id)).toEqual([`${position}@${addDays(today, 1)}`, `${position}@${addDays(today, 2)}`]);
  const resumed = await streamFor(300, { 'last-event-id': streamed[0].lastEventId! });
  expect(resumed.map(({ change }) => change.id)).toEqual([rolled.items[1].id]);
});

it('an id from before stream ids were cursors resumes in place, and one past the end of the feed is a 400, not a silent wait', async () => {
  const all = await get('/v1/changes?after=0&limit=500');
  const resumed = await streamFor(300, { 'last-event-id': String(all.items.length - 1) });
  expect(resumed.map(({ change }) => change.id)).toEqual([all.items[all.items.length - 1].id]);
  const past = await service.app.inject({ method: 'GET', url: '/v1/changes/stream', headers: { 'last-event-id': '100000' } });
  expect(past.statusCode).toBe(400);
  expect(past.json().errors).toEqual([expect.objectContaining({ path: 'headers.last-event-id' })]);
});

it('a stream open while a rebuilt read model is swapped in, numbering its changes otherwise, goes on from where it stood', async () => {
  const readModel = service.container.resolve<ReadModel>(Tokens.ReadModel);
  let next: { position: number } | undefined;
  const streamed = await streamFor(900, {}, '', async () => {
    // The rebuilt file numbers every change otherwise (as a new projection version may).
    const other = new Database(readModel.file);
    other.exec('UPDATE changes SET seq = seq + 1000');
    other.close();
    readModel.events.emit('swapped');
    next = (await service.app.inject({ method: 'POST', url: '/v1/statements', headers: writer, payload: { ...kirby, country: 'NZ' } })).json();
  });
  expect(next).toBeDefined();
  // From now: only the new statement's changes, once each, none of those before sent again.
  expect(streamed.map(({ change }) => change.position)).toEqual((await get(`/v1/changes?after=${next!.position - 1}`)).items.map(() => next!.position));
  expect(streamed.length).toBeGreaterThan(0);
});
