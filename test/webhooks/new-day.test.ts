// The changes of a new day carry the log position of the last event applied
// before the day began, and are made after it: an endpoint whose creation,
// update, disable, enable or deletion is that event gets them (or not) as that
// event left it. The real service, the day rolled by its clock.
import { afterEach, describe, expect, it } from 'vitest';
import { Tokens } from '../../src/composition.js';
import type { Webhooks } from '../../src/webhooks/webhooks.js';
import { client, movableClock, startReceiver, startWebhookService, statement } from './helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

type Api = ReturnType<typeof client>;

/** What the endpoint under test does as the last event before midnight; returns its id. */
const lastEventOfTheDay: Array<[string, boolean, (api: Api, url: string) => Promise<string>]> = [
  ['created', true, async (api, url) => (await api.createEndpoint({ url })).id],
  [
    'given the change type by a PATCH',
    true,
    async (api, url) => {
      const { id } = await api.createEndpoint({ url, types: ['statement.recorded'], countries: ['DE'] });
      await api.patch(`/v1/webhooks/${id}`, { types: ['position.changed'], countries: null });
      return id;
    },
  ],
  [
    'filtered away from the change type by a PATCH',
    false,
    async (api, url) => {
      const { id } = await api.createEndpoint({ url, types: ['position.changed'] });
      await api.patch(`/v1/webhooks/${id}`, { types: ['statement.recorded'] });
      return id;
    },
  ],
  ['disabled', false, async (api, url) => patched(api, (await api.createEndpoint({ url })).id, [{ enabled: false }])],
  [
    're-enabled',
    true,
    async (api, url) => {
      const { id } = await api.createEndpoint({ url, countries: ['DE'] });
      return patched(api, id, [{ enabled: false }, { countries: null }, { enabled: true }]);
    },
  ],
  [
    'deleted',
    false,
    async (api, url) => {
      const { id } = await api.createEndpoint({ url });
      expect((await api.delete(`/v1/webhooks/${id}`)).statusCode).toBe(204);
      return id;
    },
  ],
];

async function patched(api: Api, id: string, patches: object[]): Promise<string> {
  for (const patch of patches) expect((await api.patch(`/v1/webhooks/${id}`, patch)).statusCode).toBe(200);
  return id;
}

describe("a new day's changes go to the endpoints as the last event before the day left them", () => {
  it.each(lastEventOfTheDay)('an endpoint %s by that event: sent the change = %s', async (what, sent, act) => {
    const clock = movableClock();
    const service = await startWebhookService({ now: clock.now });
    const api = client(service);
    const witness = await startReceiver();
    const subject = await startReceiver();
    cleanup.push(() => service.stop(), () => witness.close(), () => subject.close());
    await api.createEndpoint({ url: witness.url });

    const today = clock.today();
    await api.record(statement('pl-tomorrow', { country: 'PL', stance: 'permits', effectiveAt: clock.tomorrow(), reportedAt: today }));
    const endpointId = await act(api, subject.url);
    const lastEvent = (await api.get('/v1/events?limit=500', {})).json().items.at(-1) as { position: number; streamId: string };
    expect(lastEvent.streamId).toBe(`webhook-endpoint-${endpointId}`);

    await clock.nextDay(service);
    const newDay = (await api.changes()).filter((c) => c.type === 'position.changed' && c.country === 'PL');
    expect(newDay).toHaveLength(1);
    // Stamped with the endpoint's own last event.
    expect(newDay[0].position).toBe(lastEvent.position);

    await expect.poll(() => witness.ids().has(newDay[0].id), { timeout: 10_000 }).toBe(true);
    const webhooks = service.container.resolve<Webhooks>(Tokens.Webhooks);
    // Dispatched to every endpoint in one transaction: the witness has it, so the subject's delivery, if any, exists.
    const deliveries = webhooks.db.deliveries(endpointId, { limit: 100 }).filter((d) => d.message_id === newDay[0].id);
    if (sent) {
      expect(deliveries.map((d) => d.origin)).toEqual(['live']);
      await expect.poll(() => subject.ids().has(newDay[0].id), { timeout: 10_000 }).toBe(true);
    } else {
      // Nothing to send: no delivery, or for a disabled endpoint one recorded cancelled, with its number.
      expect(deliveries.map((d) => [d.status, d.sequence])).toEqual(what === 'disabled' ? [['cancelled', 1]] : []);
      expect(subject.ids().has(newDay[0].id)).toBe(false);
    }
  });
});

describe('a replay after a cursor', () => {
  it("sends the new day's changes stamped with the cursor's position, and not that position's earlier ones", async () => {
    const clock = movableClock();
    const service = await startWebhookService({ now: clock.now });
    const api = client(service);
    const receiver = await startReceiver();
    cleanup.push(() => service.stop(), () => receiver.close());
    const { id } = await api.createEndpoint({ url: receiver.url });

    const today = clock.today();
    const recorded = await api.record(statement('pl-tomorrow', { country: 'PL', stance: 'permits', effectiveAt: clock.tomorrow(), reportedAt: today }));
    const tomorrow = await clock.nextDay(service);
    const atPosition = (await api.changes()).filter((c) => c.position === recorded.position);
    expect(atPosition.map((c) => c.type)).toEqual(['statement.recorded', 'position.changed']);
    await expect.poll(() => atPosition.every((c) => receiver.ids().has(c.id)), { timeout: 10_000 }).toBe(true);

    // The receiver had the statement (its day's changes) and asks for what came after: the new day's.
    const replayed = async (after: number | string) => {
      const answer = await api.post(`/v1/webhooks/${id}/replay`, { after });
      expect(answer.statusCode, answer.body).toBe(202);
      return answer.json() as { deliveries: number; after: number | string };
    };
    expect(await replayed(`${recorded.position}@${today}`)).toMatchObject({ deliveries: 1, after: `${recorded.position}@${today}` });
    const webhooks = service.container.resolve<Webhooks>(Tokens.Webhooks);
    const replays = () => webhooks.db.deliveries(id, { limit: 100 }).filter((d) => d.origin === 'replay').map((d) => d.message_id);
    expect(replays()).toEqual([atPosition[1].id]);
    // A bare position is after all of its changes; through the new day, nothing is left.
    expect((await replayed(recorded.position)).deliveries).toBe(0);
    expect((await replayed(`${recorded.position}@${tomorrow}`)).deliveries).toBe(0);
    expect((await api.post(`/v1/webhooks/${id}/replay`, { after: `${recorded.position}@2024-02-30` })).statusCode).toBe(400);
  });
});
