// A projection-version rebuild swaps the read model for a new file under the
// same name: webhook dispatch must follow it, sending what comes after the
// swap and nothing twice.
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECTION_VERSION } from '../../projections/versions.js';
import { client, startReceiver, startWebhookService, statement, type Receiver } from './helpers.js';
import { tempDir } from '../helpers/temp-dir.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

describe('webhooks across a rebuild of the read model', () => {
  it('after a projection version change swaps the read model, new changes are delivered and none twice', async () => {
    const { dir, cleanup: removeDir } = tempDir();
    cleanup.push(removeDir);
    const receiver: Receiver = await startReceiver();
    cleanup.push(() => receiver.close());

    const first = await startWebhookService({ dataDir: dir });
    const api = client(first);
    await api.createEndpoint({ url: receiver.url, types: ['statement.recorded'] });
    await api.record(statement('before-1'));
    await api.record(statement('before-2', { country: 'FR' }));
    await expect.poll(() => receiver.ids().size, { timeout: 10_000 }).toBe(2);
    await first.close();

    // As if an earlier version of the projections had built the read model.
    const db = new Database(path.join(dir, 'read-model.db'));
    db.prepare("UPDATE meta SET value = 'changes@0' WHERE key = 'projection_version'").run();
    db.close();

    const second = await startWebhookService({ dataDir: dir });
    cleanup.push(() => second.close());
    const again = client(second);
    await expect.poll(async () => (await again.get('/v1/audit/fingerprint', {})).json().projectionVersion, { timeout: 15_000 }).toBe(PROJECTION_VERSION);
    await again.record(statement('after-1', { country: 'DE' }));
    await expect.poll(() => receiver.ids().size, { timeout: 10_000 }).toBe(3);
    const delivered = receiver.received.map((r) => (r.json.data as { statement?: { statementId: string } }).statement?.statementId);
    expect(new Set(delivered)).toEqual(new Set(['before-1', 'before-2', 'after-1']));
    // Sequences stay gap-free per endpoint across the swap.
    expect(receiver.received.map((r) => r.json.data.sequence).sort()).toEqual([1, 2, 3]);
  });
});
