// The replay audits the webhook endpoints' state too (issue 5: "positions, timelines,
// countries, changes, webhook endpoint state"): folded afresh from their events in the
// log and compared with what the service keeps in webhooks.db. Through the real
// service: endpoints created, changed, rotated and disabled over HTTP, then
// POST /v1/admin/replay, which runs in its worker on the files.
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startReceiver, startWebhookService, statement, type Receiver, type TestService } from '../webhooks/helpers.js';

let service: TestService;
let receiver: Receiver;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  service = await startWebhookService();
  api = client(service);
  receiver = await startReceiver();
});
afterAll(async () => {
  await service.stop();
  await receiver.close();
});

describe('the replay of webhook endpoints', () => {
  it('finds the endpoints the log makes equal to the live ones, through changes, rotation and disabling', async () => {
    const kept = await api.createEndpoint({ url: receiver.url, types: ['position.changed'], description: 'desk' });
    const other = await api.createEndpoint({ url: receiver.url });
    expect((await api.patch(`/v1/webhooks/${kept.id}`, { countries: ['US', 'FR'], description: 'newsroom' })).statusCode).toBe(200);
    expect((await api.post(`/v1/webhooks/${kept.id}/rotate-secret`)).statusCode).toBe(200);
    expect((await api.patch(`/v1/webhooks/${other.id}`, { enabled: false })).statusCode).toBe(200);
    await api.record(statement('audited', { country: 'US' }));

    const report = await api.post('/v1/admin/replay');
    expect(report.statusCode, report.body).toBe(200);
    expect(report.json().differences).toEqual([]);
  });

  it('names the endpoint and the field when the live state is not what the log makes', async () => {
    const endpoint = await api.createEndpoint({ url: receiver.url, description: 'as written' });
    // As a bug in the projection, or a hand on the file, would leave it.
    const db = new Database(path.join(service.dataDir, 'webhooks.db'));
    db.prepare("UPDATE endpoint_versions SET state = json_set(state, '$.description', 'not as written', '$.enabled', json('false')) WHERE endpoint_id = ?").run(endpoint.id);
    db.close();

    const differences = (await api.post('/v1/admin/replay')).json().differences as string[];
    expect(differences).toEqual([
      `endpoints/${endpoint.id} description: live has "not as written", replay has "as written"`,
      `endpoints/${endpoint.id} enabled: live has false, replay has true`,
    ]);
    // Sealed secrets are named, never shown.
    const sealed = new Database(path.join(service.dataDir, 'webhooks.db'));
    sealed.prepare("UPDATE endpoint_versions SET state = json_set(state, '$.secrets[0].sealed', 'v1.x.y.z') WHERE endpoint_id = ?").run(endpoint.id);
    sealed.close();
    const withSecret = (await api.post('/v1/admin/replay')).json().differences as string[];
    expect(withSecret).toContainEqual(`endpoints/${endpoint.id} secrets.0.sealed: live has (a sealed secret), replay has (a sealed secret)`);
  });
});
