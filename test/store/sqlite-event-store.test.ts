import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../events/envelope.js';
import { DuplicateEventError, StreamConflictError } from '../../src/store/event-store.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { eventStoreContract } from './contract.js';

eventStoreContract('SQLite', async () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteEventStore(path.join(dir, 'events.db'), { pollIntervalMs: 50 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      cleanup();
    },
  };
});

const anEvent = (n: number) => ({ eventId: randomUUID(), type: 'T', schemaVersion: 1, data: { n }, metadata: {} });

describe('the embedded SQLite store', () => {
  it('commits appends issued together in one group, each with its own expected-revision check', async () => {
    const { dir, cleanup } = tempDir();
    const store = new SqliteEventStore(path.join(dir, 'events.db'));
    await store.append('s', [anEvent(0)], 'no-stream');
    const outcomes = await Promise.allSettled([
      store.append('s', [anEvent(1)], 0),
      store.append('s', [anEvent(2)], 0), // stale once the first one is in
      store.append('t', [anEvent(3)], 'no-stream'),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(StreamConflictError);
    expect((await store.readStream('s')).map((e) => e.data)).toEqual([{ n: 0 }, { n: 1 }]);
    await store.close();
    cleanup();
  });

  it('an append of several events that fails part-way leaves none of them, and the appends committed with it land', async () => {
    const { dir, cleanup } = tempDir();
    const store = new SqliteEventStore(path.join(dir, 'events.db'));
    const taken = anEvent(0);
    await store.append('s', [taken], 'no-stream');
    const outcomes = await Promise.allSettled([
      store.append('t', [anEvent(1)], 'any'),
      // Its first event would be written before the second is found to be a duplicate.
      store.append('u', [anEvent(2), taken, anEvent(3)], 'any'),
      store.append('s', [anEvent(4)], 0),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateEventError);
    expect(await store.readStream('u')).toEqual([]);
    expect((await store.readAll({ after: 0, limit: 10 })).map((e) => [e.streamId, e.data])).toEqual([
      ['s', { n: 0 }],
      ['t', { n: 1 }],
      ['s', { n: 4 }],
    ]);
    await store.close();
    cleanup();
  });

  it('keeps acknowledged events across a reopen, and refuses to update or delete them', async () => {
    const { dir, cleanup } = tempDir();
    const file = path.join(dir, 'events.db');
    const store = new SqliteEventStore(file);
    await store.append('s', [anEvent(1)], 'any');
    await store.close();
    const db = new Database(file);
    expect(() => db.prepare("UPDATE events SET data = '{}'").run()).toThrow(/immutable/);
    expect(() => db.prepare('DELETE FROM events').run()).toThrow(/immutable/);
    db.close();
    const reopened = new SqliteEventStore(file);
    expect((await reopened.readStream('s')).map((e) => e.data)).toEqual([{ n: 1 }]);
    await reopened.close();
    cleanup();
  });

  it('a follower sees events committed by another process on the same file', async () => {
    const { dir, cleanup } = tempDir();
    const file = path.join(dir, 'events.db');
    const follower = new SqliteEventStore(file, { pollIntervalMs: 20 });
    const writer = new SqliteEventStore(file); // a second connection stands in for another process
    const seen: unknown[] = [];
    const subscription = follower.subscribe(0, (events) => {
      seen.push(...events.map((e) => e.data));
    });
    await writer.append('s', [anEvent(1)], 'any');
    await expect.poll(() => seen, { timeout: 5_000 }).toEqual([{ n: 1 }]);
    await subscription.close();
    await writer.close();
    await follower.close();
    cleanup();
  });

  it("a follower keeping up with this process's commits, between another process's, sees every event once, in order, as a read of the file gives it", async () => {
    const { dir, cleanup } = tempDir();
    const file = path.join(dir, 'events.db');
    const local = new SqliteEventStore(file, { pollIntervalMs: 20 });
    const seen: StoredEvent[] = [];
    const subscription = local.subscribe(0, (events) => {
      seen.push(...events);
    });
    const caughtUp = (n: number) => expect.poll(() => seen.length, { timeout: 5_000 }).toBe(n);
    // The log begins with an import from a machine whose clock ran an hour ahead: later commits
    // carry that time (recordedAt never goes backwards), not this clock's, and so must what is handed over.
    const ahead = new Date(Date.now() + 3_600_000).toISOString();
    await local.importEvents((async function* () {
      yield { ...anEvent(0), streamId: 'z', streamRevision: 0, position: 1, recordedAt: ahead };
    })());
    await caughtUp(1);
    const other = new SqliteEventStore(file); // a second connection stands in for another process
    await Promise.all([local.append('a', [anEvent(1)], 'any'), local.append('b', [anEvent(2), anEvent(3)], 'any')]);
    await caughtUp(4);
    await other.append('a', [anEvent(4)], 'any');
    await caughtUp(5);
    await local.append('a', [anEvent(5)], 'any');
    await caughtUp(6);
    // A commit of the other process's lands between this one's last commit and the follower.
    await other.append('b', [anEvent(6)], 'any');
    await local.append('a', [anEvent(7)], 'any');
    await caughtUp(8);
    // Appends refused in a group, one of them part-way through its events, leave only the others' events to follow.
    const nine = anEvent(9);
    const refused = local.append('a', [anEvent(8)], 'no-stream');
    const accepted = local.append('c', [nine], 'any');
    const partWay = local.append('d', [anEvent(10), nine], 'any');
    await Promise.all([
      accepted,
      expect(refused).rejects.toBeInstanceOf(StreamConflictError),
      expect(partWay).rejects.toBeInstanceOf(DuplicateEventError),
    ]);
    await caughtUp(9);
    expect(seen).toEqual(await local.readAll({ after: 0, limit: 100 }));
    expect(seen.map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9]);
    expect(seen.map((e) => e.recordedAt).filter((at) => at !== ahead)).toEqual([]);
    await subscription.close();
    await other.close();
    await local.close();
    cleanup();
  });
});
