// A change is numbered and dispatched by each endpoint as it was at the change's
// log position, however far the endpoint projection has gone meanwhile: on
// KurrentDB every replica numbers every change, each at its own pace, and they
// must all give a change the same number (and the same decision) for an endpoint
// whose filters changed, or that was disabled, just after it.
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewEvent, StoredEvent } from '../../events/envelope.js';
import { countryStream, newEvent } from '../../events/registry.js';
import { endpointStream, newEndpointEvent } from '../../events/webhook-endpoint.js';
import { ReadModel } from '../../src/read-model/read-model.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { ChangeFeed } from '../../src/webhooks/change-feed.js';
import { queueLive } from '../../src/webhooks/dispatcher.js';
import { EndpointProjection } from '../../src/webhooks/endpoint-projection.js';
import { WebhookDb } from '../../src/webhooks/webhook-db.js';
import { statement } from '../helpers/statements.js';
import { tempDir } from '../helpers/temp-dir.js';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

const EP = 'ep_numbering01';

async function replicaAfter(log: Array<[string, NewEvent]>, maxRows?: number) {
  const { dir, cleanup: remove } = tempDir('policy-state-numbering-');
  const store = new SqliteEventStore(path.join(dir, 'events.db'));
  const readModel = new ReadModel(path.join(dir, 'read-model.db'));
  const db = new WebhookDb(path.join(dir, 'webhooks.db'));
  cleanup.push(remove, () => store.close(), () => readModel.close(), () => db.close());
  for (const [stream, event] of log) await store.append(stream, [event], 'any');
  const events: StoredEvent[] = await store.readAll({ after: 0, limit: 100 });
  readModel.apply(events);
  // The endpoint projection has applied the whole log before the changes are numbered.
  const endpoints = new EndpointProjection(store, db, pino({ level: 'silent' }));
  endpoints.apply(events);
  const feed = new ChangeFeed(() => readModel.file);
  cleanup.push(() => feed.close());
  const changes = feed.after(0, 100).filter((c) => c.type === 'statement.recorded');
  const { taken } = db.transaction(() => queueLive(db, endpoints, changes, () => 100, Date.now(), maxRows));
  const rows = db.deliveries(EP, { limit: 100 }).reverse();
  return { rows, changes, taken };
}

const created = newEndpointEvent('WebhookEndpointCreated', { endpointId: EP, url: 'https://receiver.example/hook', types: ['statement.recorded'], secret: 'v1.aaaa.bbbb.cccc' });
const recorded = (id: string) => [countryStream('US'), newEvent('StatementRecorded', statement({ statementId: id, stance: 'prohibits', effectiveAt: '2024-05-01' }))] as [string, NewEvent];

describe('numbering changes for an endpoint', () => {
  it('takes a change by the filters the endpoint had when the change was made, not those it has now', async () => {
    const { rows, changes } = await replicaAfter([
      [endpointStream(EP), created],
      recorded('before-update'),
      [endpointStream(EP), newEndpointEvent('WebhookEndpointUpdated', { endpointId: EP, types: ['position.changed'] })],
      recorded('after-update'),
    ]);
    expect(changes).toHaveLength(2);
    // The first statement came while the endpoint wanted statements; the second after it stopped.
    expect(rows.map((r) => [r.message_id, r.sequence, r.status])).toEqual([[changes[0].id, 1, 'sending']]);
  });

  it('numbers the changes made before and while the endpoint was disabled, recorded cancelled: enabled again, its receiver sees the gap', async () => {
    const { rows, changes } = await replicaAfter([
      [endpointStream(EP), created],
      recorded('before-disable'),
      [endpointStream(EP), newEndpointEvent('WebhookEndpointDisabled', { endpointId: EP, reason: 'manual', detail: 'paused', replayAfter: 0 })],
      recorded('while-disabled'),
    ]);
    expect(rows.map((r) => [r.message_id, r.sequence, r.status])).toEqual([
      [changes[0].id, 1, 'cancelled'],
      [changes[1].id, 2, 'cancelled'],
    ]);
  });
});

describe('one dispatch step', () => {
  it('writes about as many rows as its limit, counting those of changes missed while disabled', async () => {
    const disabled = newEndpointEvent('WebhookEndpointDisabled', { endpointId: EP, reason: 'manual', detail: 'paused', replayAfter: 0 });
    const { rows, changes, taken } = await replicaAfter([[endpointStream(EP), created], [endpointStream(EP), disabled], recorded('one'), recorded('two'), recorded('three')], 2);
    expect(changes).toHaveLength(3);
    expect(taken).toBe(2);
    expect(rows.map((r) => [r.message_id, r.sequence, r.status])).toEqual([
      [changes[0].id, 1, 'cancelled'],
      [changes[1].id, 2, 'cancelled'],
    ]);
  });
});

describe('webhooks.db from before last_failure_at and failing_resumed_at', () => {
  it('is opened with the columns added, a stretch already failing kept whole however old', async () => {
    const Database = (await import('better-sqlite3')).default;
    const { dir, cleanup: remove } = tempDir('policy-state-webhooks-db-');
    cleanup.push(remove);
    const file = path.join(dir, 'webhooks.db');
    const old = new Database(file);
    old.exec('CREATE TABLE endpoint_status (endpoint_id TEXT PRIMARY KEY, last_sequence INTEGER NOT NULL DEFAULT 0, failing_since INTEGER, last_success_at INTEGER)');
    old.prepare('INSERT INTO endpoint_status (endpoint_id, last_sequence, failing_since) VALUES (?, 3, 1000)').run(EP);
    old.close();
    const db = new WebhookDb(file);
    cleanup.push(() => db.close());
    // The stretch began long before; its first failure after the upgrade is no reason to start again.
    expect(db.failed(EP, 50_000, 10_000)).toEqual({ failingSince: 1000, resumedAt: 1000 });
    expect(db.failed(EP, 59_000, 10_000)).toEqual({ failingSince: 1000, resumedAt: 1000 });
    // After a spell longer than quietMs with no attempt, it is still failing, but failing again since then.
    expect(db.failed(EP, 80_000, 10_000)).toEqual({ failingSince: 1000, resumedAt: 80_000 });
    expect(db.status(EP)).toMatchObject({ last_sequence: 3, failing_since: 1000, last_failure_at: 80_000, failing_resumed_at: 80_000 });
    // A success ends the stretch: the next failure starts one.
    db.succeeded(EP, 90_000);
    expect(db.failed(EP, 91_000, 10_000)).toEqual({ failingSince: 91_000, resumedAt: 91_000 });
  });
});

