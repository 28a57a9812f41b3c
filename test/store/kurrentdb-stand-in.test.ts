// The KurrentDB adapter's own logic, over an in-memory stand-in of the server
// (kurrentdb-stand-in.ts): the contract suite, duplicate ids against the
// server's idempotence, reads of a log that holds the server's own events, and
// the catch-up subscription across drops. The real server runs the same
// contract in kurrentdb-contract.test.ts when KURRENTDB_URL is set.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { NotLeaderError, WrongExpectedVersionError } from '@kurrent/kurrentdb-client';
import { describe, expect, it } from 'vitest';
import type { NewEvent, StoredEvent } from '../../events/envelope.js';
import { DuplicateEventError, StoreUnavailableError, StreamConflictError } from '../../src/store/event-store.js';
import { KurrentDbEventStore, type KurrentClient } from '../../src/store/kurrentdb-event-store.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { eventStoreContract } from './contract.js';
import { StandInKurrentDB, type StandInOptions } from './kurrentdb-stand-in.js';

const fastRetry = { firstDelayMs: 10, maxDelayMs: 40 };

function open(options: StandInOptions = {}, server = new StandInKurrentDB(options)) {
  const client = server.client();
  const store = new KurrentDbEventStore(client, 'stand-in:2113', { streamPrefixes: ['country-', 'webhook-', 'contract-'], retry: fastRetry });
  return { server, client, store };
}

eventStoreContract('KurrentDB adapter over an in-memory stand-in of the server', async () => {
  const { store } = open();
  return { store, cleanup: () => store.close() };
});

const event = (n: number): NewEvent => ({ eventId: randomUUID(), type: 'StatementRecorded', schemaVersion: 2, data: { n }, metadata: { correlationId: `c-${n}` } });
const numbers = (events: StoredEvent[]) => events.map((e) => (e.data as { n: number }).n);

describe('the KurrentDB adapter', () => {
  it("reads only this service's events: not the server's own, not other applications' streams", async () => {
    const { server, store } = open();
    await store.append('country-US', [event(1)], 'any');
    server.writeSystemEvent();
    await server.client().appendToStream('orders-42', { id: randomUUID(), contentType: 'application/json', type: 'OrderPlaced', data: {}, metadata: undefined });
    await store.append('webhook-endpoint-1', [event(2)], 'any');
    server.writeSystemEvent();
    const all = await store.readAll({ after: 0, limit: 100 });
    expect(all.map((e) => e.streamId)).toEqual(['country-US', 'webhook-endpoint-1']);
    expect(await store.headPosition()).toBe(all[1].position);
    await expect(store.append('orders-42', [event(3)], 'any')).rejects.toThrow(/not one of this service's streams/);
  });

  /** What the server writes into a stream it deletes for good: a record of ours that accept() passes over. */
  const tombstone = (server: StandInKurrentDB, streamId: string) =>
    server.client().appendToStream(streamId, { id: randomUUID(), contentType: 'application/json', type: '$streamDeleted', data: {}, metadata: undefined });

  it('the head of the log is our newest event, past tombstones of deleted streams that came after it', async () => {
    const { server, store } = open();
    expect(await store.headPosition()).toBe(0);
    await store.append('country-US', [event(1)], 'any');
    const { positions } = await store.append('country-FR', [event(2)], 'any');
    for (let i = 0; i < 30; i++) await tombstone(server, `country-X${i}`); // more than a read or two of them
    expect(await store.headPosition()).toBe(positions[0]);
  });

  it('a page of the log is full though records it passes over come between its events', async () => {
    const { server, store } = open();
    await store.append('country-US', [event(1)], 'any');
    for (let i = 0; i < 5; i++) await tombstone(server, `country-X${i}`);
    await store.append('country-FR', [event(2), event(3)], 'any');
    expect(numbers(await store.readAll({ after: 0, limit: 2 }))).toEqual([1, 2]);
    const [first] = await store.readAll({ after: 0, limit: 1 });
    expect(numbers(await store.readAll({ after: first.position, limit: 2 }))).toEqual([2, 3]);
  });

  it('reads $all in bounded reads, each to its end, however soon a caller stops (the native core keeps a read left part way open)', async () => {
    const server = new StandInKurrentDB();
    const client = server.client();
    const reads: Array<{ maxCount?: number | bigint; finished: boolean }> = [];
    const watched = {
      ...client,
      readAll: ((options: { maxCount?: number | bigint } = {}) => {
        const read = { maxCount: options.maxCount, finished: false };
        reads.push(read);
        const inner = client.readAll(options as never)[Symbol.asyncIterator]();
        // Like the native core's iterator: next() only, no return().
        return {
          [Symbol.asyncIterator]: () => ({
            next: async () => {
              try {
                const result = await inner.next();
                if (result.done) read.finished = true;
                return result;
              } catch (error) {
                read.finished = true; // a read that failed is over
                throw error;
              }
            },
          }),
        };
      }) as unknown as KurrentClient['readAll'],
    } as KurrentClient;
    const store = new KurrentDbEventStore(watched, 'stand-in:2113');
    const { positions } = await store.append('country-US', Array.from({ length: 60 }, (_, i) => event(i)), 'any');
    const written = await store.readAll({ after: 0, limit: 60 });
    await store.findEvent(written[58].eventId); // near the head of many
    await store.findEvent(randomUUID()); // not there: all of it
    await store.headPosition();
    await store.readAll({ after: positions[10], limit: 5 });
    await store.readAll({ after: positions[10] + 1, limit: 5 }); // inside a record: the scan from the start
    expect((await store.health()).ok).toBe(true);
    expect(reads.length).toBeGreaterThan(6);
    expect(reads.filter((r) => r.maxCount === undefined || Number(r.maxCount) > 1_000)).toEqual([]);
    expect(reads.filter((r) => !r.finished)).toEqual([]);
    await store.close();
  });

  it('gives each appended event its own log position and the server time, as the subscription later sees them', async () => {
    const { server, store } = open();
    const result = await store.append('country-US', [event(1), event(2), event(3)], 'no-stream');
    const read = await store.readStream('country-US');
    expect(result.positions).toEqual(read.map((e) => e.position));
    expect(new Set(result.positions).size).toBe(3);
    expect(result.recordedAt).toBe(server.events().find((r) => r.id === read[0].eventId)!.created.toISOString());
  });

  it('a read of the log from a position inside a record (any number a client sends) still returns what follows it', async () => {
    const { server, store } = open();
    await store.append('country-US', [event(1), event(2), event(3)], 'any');
    const [first] = await store.readAll({ after: 0, limit: 1 });
    expect(numbers(await store.readAll({ after: first.position + 1, limit: 10 }))).toEqual([2, 3]);
    expect(numbers(await store.readAll({ after: first.position, limit: 10 }))).toEqual([2, 3]);
    // The refusal looks like a server that is down; one that is down is still reported so.
    server.setDown(true);
    await expect(store.readAll({ after: first.position + 1, limit: 10 })).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('a read from inside a record is not answered by reading the whole log while the server does not answer', async () => {
    const server = new StandInKurrentDB();
    const client = server.client();
    const wholeLogReads: unknown[] = [];
    const counting = {
      ...client,
      readAll: ((options: { fromPosition?: unknown; direction?: string } = {}) => {
        if (options.fromPosition === 'start' && options.direction !== 'backwards') wholeLogReads.push(options);
        return client.readAll(options as never);
      }) as KurrentClient['readAll'],
    } as KurrentClient;
    const store = new KurrentDbEventStore(counting, 'stand-in:2113', { streamPrefixes: ['country-'], retry: fastRetry });
    await store.append('country-US', [event(1), event(2)], 'any');
    const [first] = await store.readAll({ after: 0, limit: 1 });
    wholeLogReads.length = 0;
    server.setDown(true);
    await expect(store.readAll({ after: first.position + 1, limit: 10 })).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(wholeLogReads).toEqual([]);
    server.setDown(false);
    expect(numbers(await store.readAll({ after: first.position + 1, limit: 10 }))).toEqual([2]);
    expect(wholeLogReads).toHaveLength(1);
  });

  it('refuses a duplicate id even where the server would acknowledge it silently', async () => {
    const { server, store } = open();
    const once = event(1);
    await store.append('country-US', [once], 'any');
    // The server itself says "success" and writes nothing: that is what the adapter must not pass on as a write.
    const silently = await server.client().appendToStream('country-US', { id: once.eventId, contentType: 'application/json', type: 'T', data: {}, metadata: undefined });
    expect(silently.success).toBe(true);
    await expect(store.append('country-US', [once], 'any')).rejects.toBeInstanceOf(DuplicateEventError);
    await expect(store.append('country-US', [event(2), event(2)].map((e, i, all) => ({ ...e, eventId: all[0].eventId })), 'any')).rejects.toBeInstanceOf(DuplicateEventError);
    expect(await store.readStream('country-US')).toHaveLength(1);
  });

  it('an append to a webhook dispatch journal does not read the stream for duplicates: only what it wrote, back', async () => {
    const server = new StandInKurrentDB();
    const client = server.client();
    const reads: Array<{ streamName: string; maxCount?: number | bigint }> = [];
    const counting = {
      ...client,
      readStream: ((streamName: string, options: { maxCount?: number | bigint } = {}) => {
        reads.push({ streamName, maxCount: options.maxCount });
        return client.readStream(streamName, options as never);
      }) as KurrentClient['readStream'],
    } as KurrentClient;
    const store = new KurrentDbEventStore(counting, 'stand-in:2113');
    const journal = 'webhook-dispatcher-r1';
    for (let i = 0; i < 5; i++) await store.append(journal, [event(i)], i === 0 ? 'no-stream' : i - 1);
    // One read per append, of the one event it wrote; never the whole stream, however long it grows.
    expect(reads.filter((r) => r.streamName === journal)).toEqual(Array.from({ length: 5 }, () => ({ streamName: journal, maxCount: 1 })));
    // Two of the same id in one append are still refused there.
    const twice = event(9);
    await expect(store.append(journal, [twice, twice], 4)).rejects.toBeInstanceOf(DuplicateEventError);
    // A country's stream is still read whole, and a known id refused.
    const once = event(1);
    await store.append('country-US', [once], 'any');
    await expect(store.append('country-US', [once], 'any')).rejects.toBeInstanceOf(DuplicateEventError);
    expect(reads.filter((r) => r.streamName === 'country-US' && r.maxCount === Number.MAX_SAFE_INTEGER)).toHaveLength(2);
  });

  it('an append the client fails for a cluster it cannot discover is unavailable, and a new client takes the next', async () => {
    const server = new StandInKurrentDB();
    const clients: Array<ReturnType<StandInKurrentDB['client']>> = [server.client()];
    // What connect() gives: a new client from the same connection string.
    const newClient = () => (clients.push(server.client()), clients.at(-1)!);
    const store = new KurrentDbEventStore(clients[0], 'stand-in:2113', { newClient });
    await store.append('country-US', [event(1)], 'no-stream');
    server.setDiscoveryFailing(true);
    // Journal appends go to the server without a read first. Two failing together replace the client
    // once; each is a 503, never a 500.
    const journal = (n: number) => store.append('webhook-dispatcher-r1', [event(n)], 'any').catch((e: unknown) => e);
    for (const error of await Promise.all([journal(2), journal(3)])) expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(clients).toHaveLength(2);
    expect(clients[0].disposed).toBe(true);
    server.setDiscoveryFailing(false);
    // The first client keeps its failed discovery: it would fail this at once, for good.
    await expect(clients[0].appendToStream('country-US', [], {})).rejects.toThrow(/Failed to discover/);
    await expect(store.append('country-US', [event(4)], 0)).resolves.toMatchObject({ nextExpectedRevision: 1 });
    await store.close();
    expect(clients).toHaveLength(2);
    expect(clients[1].disposed).toBe(true);
  });

  it('notices a duplicate id that raced past its check and was swallowed by the server', async () => {
    const server = new StandInKurrentDB();
    const other = open({}, server).store; // another replica
    const mine = event(1);
    // Two requests with the same Idempotency-Key: same event id, each with its own causation id.
    const theirs = { ...mine, metadata: { ...mine.metadata, causationId: 'their-request' } };
    const client = server.client();
    // The other replica's append lands between this one's check and its append.
    const interleaved = {
      readStream: client.readStream.bind(client),
      readAll: client.readAll.bind(client),
      subscribeToAll: client.subscribeToAll.bind(client),
      dispose: client.dispose.bind(client),
      appendToStream: (async (...args: Parameters<KurrentClient['appendToStream']>) => {
        await other.append('country-US', [theirs], 'any');
        return client.appendToStream(...args);
      }) as KurrentClient['appendToStream'],
    } as KurrentClient;
    const store = new KurrentDbEventStore(interleaved, 'stand-in:2113');
    await expect(store.append('country-US', [mine], 'any')).rejects.toBeInstanceOf(DuplicateEventError);
    const stored = await other.readStream('country-US');
    expect(stored.map((e) => [e.eventId, e.metadata.causationId])).toEqual([[mine.eventId, 'their-request']]);
  });
});

describe('the catch-up subscription to KurrentDB', () => {
  /** Collects what a subscription hands over, batch by batch. */
  function collector(delayMs = 0) {
    const batches: number[][] = [];
    return {
      batches,
      seen: () => batches.flat(),
      handler: async (events: StoredEvent[]) => {
        batches.push(numbers(events));
        if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      },
    };
  }

  it('after a leader change drops it, resubscribes after the last event handled: nothing twice, nothing skipped', async () => {
    // This stand-in even repeats the boundary event on resubscription, as a misbehaving server might.
    const { server, store } = open({ repeatBoundaryEvent: true });
    await store.append('country-US', [event(1), event(2)], 'any');
    const seen = collector();
    const errors: unknown[] = [];
    const subscription = store.subscribe(0, seen.handler, (e) => errors.push(e));
    await expect.poll(seen.seen).toEqual([1, 2]);
    server.dropSubscriptions(new NotLeaderError({ metadata: { 'leader-endpoint-host': 'node2', 'leader-endpoint-port': '2113' } } as never));
    // Written while nobody is subscribed.
    await store.append('country-US', [event(3)], 'any');
    await store.append('country-FR', [event(4)], 'any');
    await expect.poll(seen.seen).toEqual([1, 2, 3, 4]);
    await expect.poll(() => server.liveSubscriptions).toBe(1);
    // It asked to start right after event 2, the last one handled, not from the beginning again.
    const second = (await store.readAll({ after: 0, limit: 2 }))[1];
    expect(server.subscribedFrom).toEqual(['start', BigInt(second.position)]);
    await store.append('country-US', [event(5)], 'any');
    await expect.poll(seen.seen).toEqual([1, 2, 3, 4, 5]);
    await subscription.close();
    expect(errors).toEqual([]);
  });

  it('started while the server is down, keeps trying, and catches up in order once it is back', async () => {
    const server = new StandInKurrentDB();
    const writer = open({}, server).store;
    await writer.append('country-US', [event(1), event(2)], 'any');
    server.setDown(true);
    const { store } = open({}, server);
    const seen = collector();
    const errors: unknown[] = [];
    const subscription = store.subscribe(0, seen.handler, (e) => errors.push(e));
    await new Promise((resolve) => setTimeout(resolve, 150)); // several failed attempts
    expect(seen.seen()).toEqual([]);
    server.setDown(false);
    await writer.append('country-US', [event(3)], 'any');
    await expect.poll(seen.seen).toEqual([1, 2, 3]);
    // Down again mid-stream and back: the subscription resumes after 3.
    server.setDown(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.setDown(false);
    await writer.append('country-US', [event(4)], 'any');
    await expect.poll(seen.seen).toEqual([1, 2, 3, 4]);
    await subscription.close();
    expect(errors).toEqual([]);
  });

  it('keeps following while the client cannot discover the cluster, and catches up once it is back', async () => {
    const server = new StandInKurrentDB();
    const writer = open({}, server).store;
    await writer.append('country-US', [event(1)], 'any');
    const store = new KurrentDbEventStore(server.client(), 'stand-in:2113', { retry: fastRetry, newClient: () => server.client() });
    const seen = collector();
    const errors: unknown[] = [];
    const subscription = store.subscribe(0, seen.handler, (e) => errors.push(e));
    await expect.poll(seen.seen).toEqual([1]);
    server.setDiscoveryFailing(true);
    await new Promise((resolve) => setTimeout(resolve, 100)); // several failed attempts
    server.setDiscoveryFailing(false);
    await writer.append('country-US', [event(2)], 'any');
    await expect.poll(seen.seen).toEqual([1, 2]);
    await subscription.close();
    expect(errors).toEqual([]);
  });

  it('hands over events in order, in batches of at most maxBatch, while the handler is busy', async () => {
    const server = new StandInKurrentDB();
    const store = new KurrentDbEventStore(server.client(), 'stand-in:2113', { retry: fastRetry, maxBatch: 4 });
    const seen = collector(20);
    const subscription = store.subscribe(0, seen.handler);
    for (let n = 1; n <= 15; n++) await store.append('country-US', [event(n)], 'any');
    await expect.poll(seen.seen).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(Math.max(...seen.batches.map((b) => b.length))).toBeLessThanOrEqual(4);
    expect(seen.batches.length).toBeLessThan(15); // events that arrived during a slow call were batched
    await subscription.close();
  });

  it('starts strictly after the position it is given', async () => {
    const { store } = open();
    const { positions } = await store.append('country-US', [event(1), event(2), event(3)], 'any');
    const seen = collector();
    const subscription = store.subscribe(positions[1], seen.handler);
    await expect.poll(seen.seen).toEqual([3]);
    await subscription.close();
  });

  it("stops on the handler's failure and reports it, without retrying the batch", async () => {
    const { store } = open();
    await store.append('country-US', [event(1)], 'any');
    let calls = 0;
    const failure = new Error('the read model refused the batch');
    const reported = new Promise<unknown>((resolve) => {
      store.subscribe(
        0,
        () => {
          calls += 1;
          throw failure;
        },
        resolve,
      );
    });
    expect(await reported).toBe(failure);
    await store.append('country-US', [event(2)], 'any');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls).toBe(1);
  });

  it('closes promptly while waiting to resubscribe, and hands nothing over after', async () => {
    const { server, store } = open();
    const slow = new KurrentDbEventStore(server.client(), 'stand-in:2113', { retry: { firstDelayMs: 60_000, maxDelayMs: 60_000 } });
    server.setDown(true);
    const seen = collector();
    const subscription = slow.subscribe(0, seen.handler);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await subscription.close();
    // Not the minute the resubscription waits for (a generous bound: a busy machine may be slow, never that slow).
    expect(Date.now() - started).toBeLessThan(10_000);
    server.setDown(false);
    await store.append('country-US', [event(1)], 'any');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.seen()).toEqual([]);
  });

  it('closing the store ends its subscriptions and disposes of the client', async () => {
    const { server, client, store } = open();
    const seen = collector();
    store.subscribe(0, seen.handler);
    await expect.poll(() => server.liveSubscriptions).toBe(1);
    await store.close();
    expect(server.liveSubscriptions).toBe(0);
    expect(client.disposed).toBe(true);
    expect(await store.health()).toEqual({ ok: false, reason: 'the event store is closed' });
  });
});

describe('the KurrentDB adapter on a client with throwOnAppendFailure=false', () => {
  /** What the client does with that option: a wrong expected revision resolves as { success: false } (1.x: nextExpectedRevision 1n), it does not throw. */
  function lenient(client: KurrentClient, before?: () => Promise<void>): KurrentClient {
    return {
      ...client,
      appendToStream: (async (...args: Parameters<KurrentClient['appendToStream']>) => {
        await before?.();
        try {
          return await client.appendToStream(...args);
        } catch (error) {
          if (error instanceof WrongExpectedVersionError) return { success: false, nextExpectedRevision: 1n, position: undefined };
          throw error;
        }
      }) as KurrentClient['appendToStream'],
    } as KurrentClient;
  }

  it('still answers a stale expected revision with a stream conflict carrying the actual revision', async () => {
    const { client, store: writer } = open();
    await writer.append('country-US', [event(1), event(2), event(3)], 'no-stream');
    const store = new KurrentDbEventStore(lenient(client), 'stand-in:2113');
    const error = await store.append('country-US', [event(4)], 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamConflictError);
    expect(error).toMatchObject({ streamId: 'country-US', expected: 0, actual: 2 });
    await expect(store.append('country-FR', [event(5)], 1).catch((e: unknown) => e)).resolves.toMatchObject({ name: 'StreamConflictError', actual: -1 });
    expect(await writer.readStream('country-US')).toHaveLength(3);
  });

  it('an import that meets a concurrent writer stops instead of counting events it did not write', async () => {
    const { client, store: writer } = open();
    let raced = false;
    const store = new KurrentDbEventStore(
      lenient(client, async () => {
        if (raced) return;
        raced = true;
        await writer.append('country-US', [event(9)], 'no-stream');
      }),
      'stand-in:2113',
    );
    const log: StoredEvent[] = [{ ...event(1), streamId: 'country-US', streamRevision: 0, position: 1, recordedAt: new Date(0).toISOString(), metadata: {} }];
    async function* lines() {
      yield* log;
    }
    await expect(store.importEvents(lines())).rejects.toBeInstanceOf(StreamConflictError);
    expect((await writer.readStream('country-US')).map((e) => (e.data as { n: number }).n)).toEqual([9]);
  });
});

describe('moving an embedded log into KurrentDB', () => {
  async function embeddedLog() {
    const { dir, cleanup } = tempDir();
    const sqlite = new SqliteEventStore(path.join(dir, 'events.db'));
    await sqlite.append('country-US', [event(1), event(2)], 'no-stream');
    await sqlite.append('country-FR', [event(3)], 'no-stream');
    await sqlite.append('country-US', [event(4)], 1);
    await sqlite.append('webhook-endpoint-1', [event(5)], 'no-stream');
    const log = await sqlite.readAll({ after: 0, limit: 100 });
    await sqlite.close();
    cleanup();
    return log;
  }
  async function* linesOf(log: StoredEvent[], failAfter = Infinity) {
    for (const [i, e] of log.entries()) {
      if (i >= failAfter) throw new Error(`line ${i + 1}: not valid`);
      yield e;
    }
  }
  const withoutPosition = ({ position: _position, ...rest }: StoredEvent) => rest;

  it('keeps every event, in log order, with its id, stream, revision, data, metadata and the time it was first recorded', async () => {
    const log = await embeddedLog();
    const { store } = open();
    expect(await store.importEvents(linesOf(log))).toBe(log.length);
    const imported = await store.readAll({ after: 0, limit: 100 });
    expect(imported.map(withoutPosition)).toEqual(log.map(withoutPosition));
    expect(imported.map((e) => e.position)).toEqual([...imported.map((e) => e.position)].sort((a, b) => a - b));
    // After the import the service writes on top of it as usual.
    await expect(store.append('country-US', [event(6)], 2)).resolves.toMatchObject({ nextExpectedRevision: 3 });
  });

  it('stopped part way, finishes when run again, without writing anything twice', async () => {
    const log = await embeddedLog();
    const { store } = open();
    await expect(store.importEvents(linesOf(log, 3))).rejects.toThrow('line 4');
    const before = (await store.readAll({ after: 0, limit: 100 })).length;
    expect(before).toBeGreaterThan(0);
    expect(await store.importEvents(linesOf(log))).toBe(log.length - before);
    expect(await store.importEvents(linesOf(log))).toBe(0);
    expect((await store.readAll({ after: 0, limit: 100 })).map((e) => e.eventId)).toEqual(log.map((e) => e.eventId));
  });

  it('run again, reads what is already there from the leader, not from a follower behind it', async () => {
    const log: StoredEvent[] = [1, 2, 3].map((n, i) => ({ ...event(n), streamId: 'country-US', streamRevision: i, position: i + 1, recordedAt: new Date(0).toISOString(), metadata: {} }));
    const { server, store } = open();
    expect(await store.importEvents(linesOf(log.slice(0, 2)))).toBe(2);
    // A follower has the first event of the two, not the second: an import that believed it
    // would send the second again at the wrong expected revision, and stop on a conflict.
    server.followerLag = 1;
    expect(await store.importEvents(linesOf(log))).toBe(1);
    server.followerLag = 0;
    expect((await store.readStream('country-US')).map((e) => e.eventId)).toEqual(log.map((e) => e.eventId));
  });

  it("writes a stream larger than the server's maximum append size in appends below it", async () => {
    // 24 events of 60 KiB: 1.4 MiB in one stream, where the server takes at most 1 MiB an append.
    const log: StoredEvent[] = Array.from({ length: 24 }, (_, i) => ({
      ...event(i),
      data: { n: i, text: 'x'.repeat(60 * 1024) },
      streamId: 'country-US',
      streamRevision: i,
      position: i + 1,
      recordedAt: new Date(0).toISOString(),
      metadata: {},
    }));
    const { server, store } = open();
    expect(24 * 60 * 1024).toBeGreaterThan(server.maxAppendSize);
    const progress: number[] = [];
    expect(await store.importEvents(linesOf(log), (written) => progress.push(written))).toBe(24);
    expect(progress.length).toBeGreaterThan(2); // in several appends
    expect((await store.readStream('country-US')).map((e) => e.eventId)).toEqual(log.map((e) => e.eventId));
  });

  it('refuses to import over different events', async () => {
    const log = await embeddedLog();
    const { store } = open();
    await store.append('country-FR', [event(99)], 'no-stream');
    await expect(store.importEvents(linesOf(log))).rejects.toThrow(/country-FR already holds event .* at revision 0/);
  });
});
