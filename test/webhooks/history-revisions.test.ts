// Back-dated statements and retractions, through the API, as a subscriber hears of them.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { client, startReceiver, startWebhookService, statement, verify, type Receiver, type TestService } from './helpers.js';

let service: TestService;
let receiver: Receiver;
let api: ReturnType<typeof client>;
let secret: string;
beforeAll(async () => {
  service = await startWebhookService();
  receiver = await startReceiver();
  api = client(service);
  ({ secret } = await api.createEndpoint({ url: receiver.url, types: ['history.revised', 'position.changed'], countries: ['US'] }));
  await api.record(statement('us-ban', { stance: 'prohibits', effectiveAt: '2024-05-01' }));
  await api.record(statement('us-kharkiv', { stance: 'permits', effectiveAt: '2024-05-30', scope: { purposes: ['counter-fire'] }, attribution: 'anonymous-official' }));
});
afterAll(async () => {
  await service.stop();
  await receiver.close();
});

const deliveredAt = async (position: number) => {
  const expected = (await api.changes()).filter((c) => c.position === position && ['history.revised', 'position.changed'].includes(c.type));
  await expect.poll(() => expected.every((c) => receiver.ids().has(c.id)), { timeout: 10_000 }).toBe(true);
  return receiver.received.filter((r) => r.json.data.position === position).map((r) => verify(secret, r) as { type: string; data: Record<string, any> }); // eslint-disable-line @typescript-eslint/no-explicit-any -- the test reads nested fields of the change
};

it('a back-dated statement that alters a past interval sends history.revised with the affected valid-time range, and no position.changed', async () => {
  const leak = await api.record(statement('us-leak', { stance: 'permits', effectiveAt: '2024-05-10', attribution: 'anonymous-official' }));
  const delivered = await deliveredAt(leak.position);
  expect(delivered.map((d) => d.type)).toEqual(['history.revised']);
  expect(delivered[0].data).toMatchObject({ country: 'US', statementId: 'us-leak', from: '2024-05-10', to: '2024-05-30' });
  expect(delivered[0].data.before).toEqual([expect.objectContaining({ from: '2024-05-01', to: '2024-05-30', status: 'prohibited' })]);
  expect(delivered[0].data.after[0]).toMatchObject({ from: '2024-05-10', to: '2024-05-30', decidingStatementId: 'us-leak' });
});

it("a retraction that changes today's position sends position.changed as well as history.revised", async () => {
  const retraction = await api.post('/v1/statements/us-kharkiv/retraction', { reason: 'the report was withdrawn', reportedAt: '2024-06-03' }, {
    authorization: 'Bearer writer-secret-for-webhook-tests',
  });
  expect(retraction.statusCode).toBe(201);
  const delivered = await deliveredAt(retraction.json().position);
  expect(delivered.map((d) => d.type).sort()).toEqual(['history.revised', 'position.changed']);
  const changed = delivered.find((d) => d.type === 'position.changed')!;
  expect(changed.data).toMatchObject({ country: 'US', statementId: 'us-kharkiv', previous: { status: 'restricted', decidingStatementId: 'us-kharkiv' } });
  expect(changed.data.current.decidingStatementId).toBe('us-leak');
  const revised = delivered.find((d) => d.type === 'history.revised')!;
  expect(revised.data).toMatchObject({ from: '2024-05-30', to: null });
});
