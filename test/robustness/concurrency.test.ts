// Fifty clients write to the same country at the same moment, each against
// the revision it read (If-Match): each write either commits or is refused
// with 409, never half of either; a client that reads the revision again and
// retries gets its write in; nothing is lost and nothing is written twice.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestService, writer, type TestService } from '../helpers/service.js';

const CLIENTS = 50;
let service: TestService;
let base: string;
beforeAll(async () => {
  service = await startTestService();
  base = await service.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => service?.stop());

const statement = (marker: string) => ({
  country: 'DE',
  stance: 'permits',
  scope: { regions: [`region of ${marker}`] },
  speaker: { name: 'Steffen Hebestreit', role: 'government spokesperson', attribution: 'official' },
  sources: [{ publisher: 'Wire', title: `Report ${marker}`, publishedAt: '2024-05-31', quote: 'in accordance with international law' }],
  effectiveAt: '2024-05-31',
  reportedAt: '2024-05-31',
  notes: marker,
});

/** The revision a client writes against: from the position answer's body, checked against its ETag. */
async function readRevision(): Promise<number> {
  const response = await fetch(`${base}/v1/countries/DE/position`);
  const { revision } = (await response.json()) as { revision: number };
  expect(response.headers.get('etag')).toBe(`"${revision}"`);
  return revision;
}

const write = (marker: string, revision?: number) =>
  fetch(`${base}/v1/statements`, {
    method: 'POST',
    headers: { ...writer, 'content-type': 'application/json', ...(revision !== undefined ? { 'if-match': `"${revision}"` } : {}) },
    body: JSON.stringify(statement(marker)),
  });

it(`${CLIENTS} clients writing to one country at once with If-Match: one commits, the rest get 409, and retrying on 409 gets every write in`, async () => {
  expect((await write('first')).status).toBe(201);
  const revision = await readRevision();

  // All at once, all against the same revision.
  const markers = Array.from({ length: CLIENTS }, (_, i) => `client-${i}`);
  const first = await Promise.all(markers.map(async (marker) => ({ marker, response: await write(marker, revision) })));
  const statuses = first.map(({ response }) => response.status);
  expect(statuses.filter((s) => s !== 201 && s !== 409)).toEqual([]);
  expect(statuses.filter((s) => s === 201)).toHaveLength(1);
  for (const { response } of first.filter(({ response }) => response.status === 409)) {
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/retry with its current revision/);
  }

  // Each refused client reads the revision again and retries until it is in; conflicts with the others are expected on the way.
  const acknowledged = new Map<string, string>();
  for (const { marker, response } of first) if (response.status === 201) acknowledged.set(marker, ((await response.json()) as { statementId: string }).statementId);
  let conflicts = 0;
  await Promise.all(
    first
      .filter(({ response }) => response.status === 409)
      .map(async ({ marker }) => {
        for (let attempt = 0; attempt < 500; attempt++) {
          const response = await write(marker, await readRevision());
          if (response.status === 201) {
            acknowledged.set(marker, ((await response.json()) as { statementId: string }).statementId);
            return;
          }
          expect(response.status).toBe(409);
          conflicts++;
        }
        throw new Error(`${marker} never got its write in`);
      }),
  );
  expect(acknowledged.size).toBe(CLIENTS);
  expect(conflicts).toBeGreaterThan(0);

  // The log: the country's stream holds the first write and each client's exactly once, revisions without a gap.
  const events = (await (await fetch(`${base}/v1/events?limit=500`)).json()) as { items: Array<{ streamId: string; streamRevision: number; data: { notes?: string; statementId: string } }> };
  const stream = events.items.filter((e) => e.streamId === 'country-DE');
  expect(stream.map((e) => e.streamRevision)).toEqual(Array.from({ length: CLIENTS + 1 }, (_, i) => i));
  const notes = stream.map((e) => e.data.notes);
  expect(new Set(notes).size).toBe(CLIENTS + 1);
  for (const [marker, statementId] of acknowledged) expect(stream.find((e) => e.data.notes === marker)?.data.statementId).toBe(statementId);
  // And the read model agrees.
  const history = (await (await fetch(`${base}/v1/countries/DE/history`)).json()) as { statements: unknown[] };
  expect(history.statements).toHaveLength(CLIENTS + 1);
  expect(await readRevision()).toBe(CLIENTS);
}, 60_000);
