// What needs no KurrentDB server: how our events map to the client's shapes
// and back, how positions convert, and how the client's errors become the
// port's typed errors (including the real client against a closed port).
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  ANY,
  AccessDeniedError,
  KurrentDBClient,
  NO_STREAM,
  NotLeaderError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type JSONEventData,
} from '@kurrent/kurrentdb-client';
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../events/envelope.js';
import { ConfigError } from '../../src/config.js';
import { StoreUnavailableError, StreamConflictError } from '../../src/store/event-store.js';
import { KurrentDbEventStore } from '../../src/store/kurrentdb-event-store.js';
import { describeEndpoint, isTransient, translateError } from '../../src/store/kurrentdb/errors.js';
import { closedPort } from './kurrentdb-stand-in.js';
import {
  UnreadableEventError,
  bigintToNumber,
  isSystemRecord,
  toAllPosition,
  toEventData,
  toStoredEvent,
  toStreamState,
} from '../../src/store/kurrentdb/mapping.js';

/** What the server hands back for an event written as `data`, at a revision and a commit position. */
function asRead(data: JSONEventData, streamId: string, revision: bigint, commit: bigint, created: Date): AllStreamResolvedEvent {
  const roundTrip = <T>(value: T): T => (value === undefined ? value : JSON.parse(JSON.stringify(value)));
  return {
    event: {
      streamId,
      id: data.id,
      isJson: true,
      revision,
      type: data.type,
      created,
      data: roundTrip(data.data),
      metadata: roundTrip(data.metadata),
      position: { commit, prepare: commit },
    },
    commitPosition: commit,
  } as AllStreamResolvedEvent;
}

const recorded: NewEvent = {
  eventId: randomUUID(),
  type: 'StatementRecorded',
  schemaVersion: 2,
  data: { statementId: 's-1', country: 'US', stance: 'permits', scope: { purposes: ['counter-fire'] } },
  metadata: { correlationId: 'corr-1', causationId: 'req-1', apiKey: 'newsroom', idempotencyKey: 'k-1', requestHash: 'abc' },
};

describe('an event written to KurrentDB', () => {
  it('keeps its id and type, carries its data as JSON, and its schema version and metadata in the JSON metadata', () => {
    const data = toEventData(recorded) as JSONEventData;
    expect(data.id).toBe(recorded.eventId);
    expect(data.type).toBe('StatementRecorded');
    expect(data.contentType).toBe('application/json');
    expect(data.data).toEqual(recorded.data);
    // The correlation and causation ids go where KurrentDB's own projections look for them.
    expect(data.metadata).toEqual({
      schemaVersion: 2,
      $correlationId: 'corr-1',
      $causationId: 'req-1',
      apiKey: 'newsroom',
      idempotencyKey: 'k-1',
      requestHash: 'abc',
    });
  });

  it('reads back as it was written, with the revision, the commit position and the server time as ours', () => {
    const created = new Date('2024-05-30T12:34:56.789Z');
    const stored = toStoredEvent(asRead(toEventData(recorded) as JSONEventData, 'country-US', 7n, 123_456_789n, created));
    expect(stored).toEqual({
      ...recorded,
      streamId: 'country-US',
      streamRevision: 7,
      position: 123_456_789,
      recordedAt: '2024-05-30T12:34:56.789Z',
    });
  });

  it('an event imported from another store keeps the time that store recorded it, not the time of the import', () => {
    const data = toEventData(recorded, '2024-05-30T08:00:00.000Z') as JSONEventData;
    expect(data.metadata).toMatchObject({ recordedAt: '2024-05-30T08:00:00.000Z' });
    const stored = toStoredEvent(asRead(data, 'country-US', 0n, 5_000n, new Date('2026-01-01T00:00:00.000Z')));
    expect(stored.recordedAt).toBe('2024-05-30T08:00:00.000Z');
    expect(stored.metadata).toEqual(recorded.metadata);
  });

  it('round-trips any data and metadata exactly', () => {
    const metadataField = fc.option(fc.string(), { nil: undefined });
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.integer({ min: 1, max: 50 }),
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.record({ correlationId: metadataField, causationId: metadataField, apiKey: metadataField, idempotencyKey: metadataField }),
        (eventId, schemaVersion, body, rawMetadata) => {
          // JSON has no undefined and no -0: compare with what JSON can hold.
          const metadata = JSON.parse(JSON.stringify(rawMetadata));
          const data = JSON.parse(JSON.stringify(body));
          const event: NewEvent = { eventId, type: 'T', schemaVersion, data, metadata };
          const stored = toStoredEvent(asRead(toEventData(event) as JSONEventData, 'country-FR', 0n, 42n, new Date(0)));
          expect({ eventId: stored.eventId, type: stored.type, schemaVersion: stored.schemaVersion, data: stored.data, metadata: stored.metadata }).toEqual(event);
        },
      ),
    );
  });

  it('an event another tool wrote without our metadata reads as schema version 1 with empty metadata', () => {
    const foreign = asRead({ id: randomUUID(), contentType: 'application/json', type: 'X', data: { a: 1 }, metadata: undefined }, 'country-DE', 0n, 99n, new Date(0));
    expect(toStoredEvent(foreign)).toMatchObject({ schemaVersion: 1, metadata: {}, data: { a: 1 } });
  });

  it('an event whose metadata is not a JSON object, or a link to a deleted event, is reported as unreadable', () => {
    const bad = asRead({ id: randomUUID(), contentType: 'application/json', type: 'X', data: {}, metadata: undefined }, 'country-DE', 0n, 99n, new Date(0));
    bad.event!.metadata = new Uint8Array([0xff, 0x00]);
    expect(() => toStoredEvent(bad)).toThrow(UnreadableEventError);
    expect(() => toStoredEvent({ commitPosition: 5n } as AllStreamResolvedEvent)).toThrow(UnreadableEventError);
  });

  it('tells what the server writes for itself from our events', () => {
    const at = (streamId: string, type: string) =>
      asRead({ id: randomUUID(), contentType: 'application/json', type, data: {}, metadata: undefined }, streamId, 0n, 1n, new Date(0));
    expect(isSystemRecord(at('$stats-127.0.0.1:2113', '$statsCollected'))).toBe(true);
    expect(isSystemRecord(at('$$country-US', '$metadata'))).toBe(true);
    expect(isSystemRecord(at('$ce-country', '$>'))).toBe(true);
    expect(isSystemRecord(at('country-US', 'StatementRecorded'))).toBe(false);
  });
});

describe('log positions between KurrentDB and the service', () => {
  it('a commit position becomes the same number, exactly, up to 2^53 - 1, and is refused beyond', () => {
    expect(bigintToNumber(9_007_199_254_740_991n, 'p')).toBe(Number.MAX_SAFE_INTEGER);
    expect(bigintToNumber(1_561n, 'p')).toBe(1_561);
    expect(() => bigintToNumber(9_007_199_254_740_992n, 'p')).toThrow(RangeError);
    expect(() => bigintToNumber(-1n, 'p')).toThrow(RangeError);
  });

  it('a position of ours names the record with that commit and prepare position', () => {
    expect(toAllPosition(1_561)).toEqual({ commit: 1_561n, prepare: 1_561n });
    expect(toAllPosition(Number.MAX_SAFE_INTEGER)).toEqual({ commit: 9_007_199_254_740_991n, prepare: 9_007_199_254_740_991n });
    expect(() => toAllPosition(1.5)).toThrow(RangeError);
    expect(() => toAllPosition(-1)).toThrow(RangeError);
  });

  it('expected revisions map to stream states', () => {
    expect(toStreamState('any')).toBe(ANY);
    expect(toStreamState('no-stream')).toBe(NO_STREAM);
    expect(toStreamState(0)).toBe(0n);
    expect(toStreamState(41)).toBe(41n);
    expect(() => toStreamState(-3)).toThrow(RangeError);
  });
});

describe("the client's errors become the port's", () => {
  const endpoint = 'node1:2113,node2:2113';

  it('a wrong expected version is a stream conflict carrying the actual revision', () => {
    const error = translateError(
      new WrongExpectedVersionError(undefined, { streamName: 'country-US', expected: 3n, current: 5n }),
      { endpoint, streamId: 'country-US', expected: 3 },
    );
    expect(error).toBeInstanceOf(StreamConflictError);
    expect(error).toMatchObject({ streamId: 'country-US', expected: 3, actual: 5 });
  });

  it('a wrong expected version on a stream that does not exist has actual revision -1', () => {
    const error = translateError(
      new WrongExpectedVersionError(undefined, { streamName: 'country-FR', expected: 0n, current: NO_STREAM }),
      { endpoint, streamId: 'country-FR', expected: 0 },
    );
    expect(error).toMatchObject({ name: 'StreamConflictError', actual: -1 });
  });

  it('an unreachable server, a raw gRPC UNAVAILABLE, a timeout and a leader change are "unavailable", naming the endpoint', () => {
    const raw = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14, details: 'No connection established', metadata: undefined });
    const notLeader = new NotLeaderError({ metadata: { 'leader-endpoint-host': 'node2', 'leader-endpoint-port': '2113' } } as never);
    for (const cause of [new UnavailableError(undefined, 'connect ECONNREFUSED'), raw, notLeader, Object.assign(new Error('deadline'), { code: 4 })]) {
      const error = translateError(cause, { endpoint });
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toContain(endpoint);
      expect(isTransient(cause)).toBe(true);
    }
  });

  it('a batch append the node did not handle (starting, electing, busy) is "unavailable"; another unknown error is not', () => {
    // What the client makes of the server's NotHandled answer: no code, the server's message after "Could not recognize".
    for (const answer of ['Server Is Not Ready', 'Server Is Busy', 'No leader info available in response']) {
      const cause = new UnknownError(undefined, `Could not recognize ${answer}`);
      expect(isTransient(cause)).toBe(true);
      const error = translateError(cause, { endpoint });
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toBe(`KurrentDB at ${endpoint} did not take the write (${answer}): a node starting, a leader election or an overload`);
    }
    const unknown = new UnknownError(undefined, 'Could not recognize Event with Id: 1 exceeded Max Append Event Size');
    expect(isTransient(unknown)).toBe(false);
    expect(translateError(unknown, { endpoint })).toBe(unknown);
  });

  it('access denied is not something a retry cures, and is not disguised as unavailability', () => {
    const denied = new AccessDeniedError(undefined, 'Access denied');
    expect(isTransient(denied)).toBe(false);
    expect(translateError(denied, { endpoint })).toBe(denied);
  });

  it('the endpoint shown in messages never carries the credentials of the connection string', () => {
    expect(describeEndpoint('kurrentdb://admin:changeit@node1:2113,node2:2113?tls=false')).toBe('node1:2113,node2:2113');
    expect(describeEndpoint('kurrentdb+discover://ops:s3cret@cluster.example:2113')).toBe('cluster.example:2113');
    expect(describeEndpoint('kurrentdb://127.0.0.1:2113?tls=false')).toBe('127.0.0.1:2113');
  });

  it('nor any part of a password holding "/", "?" or ":" (the client reads the password up to the first "@")', () => {
    expect(describeEndpoint('kurrentdb://admin:pa/ss@node1:2113?tls=false')).toBe('node1:2113');
    expect(describeEndpoint('kurrentdb://admin:pa?ss@node1:2113')).toBe('node1:2113');
    expect(describeEndpoint('esdb://admin:p:a/s?s@node1:2113,node2:2113/?tls=false')).toBe('node1:2113,node2:2113');
    expect(describeEndpoint('kurrentdb://admin:pa%2Fss@node1:2113')).toBe('node1:2113');
  });
});

describe('a connection string the client cannot read', () => {
  it('fails to connect with a message that names the hosts, never the password, in the message or anywhere a logger looks', () => {
    // The native core refuses this one and says the whole string; the parser refuses the second, keeping it in a property.
    for (const [url, password] of [
      ['kurrentdb://admin:sec/ret@127.0.0.1:2113?tls=false', 'sec/ret'],
      ['kurrentdb://admin:changeit@127.0.0.1:2113?tls=maybe', 'changeit'],
    ] as const) {
      let error: unknown;
      try {
        KurrentDbEventStore.connect(url);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain('KurrentDB at 127.0.0.1:2113');
      const everything = JSON.stringify({ ...(error as object), message: (error as Error).message, stack: (error as Error).stack, cause: (error as Error).cause });
      expect(everything).not.toContain(password);
      expect(everything).not.toContain('admin:');
    }
  });
});

describe('credentials in the connection string', () => {
  /** The password the client's native core (reads) sends for `password`, caught by a local gRPC endpoint. */
  async function passwordSentOnReads(password: string): Promise<string | undefined> {
    let sent: string | undefined;
    const server = http2.createServer();
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on('session', (session) => sessions.add(session));
    server.on('stream', (stream, headers) => {
      const auth = headers.authorization;
      if (auth) sent = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString().replace(/^admin:/, '');
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = KurrentDBClient.connectionString(`kurrentdb://admin:${password}@127.0.0.1:${(server.address() as AddressInfo).port}?tls=false`);
    try {
      for await (const _ of client.readAll({ maxCount: 1 })) break;
    } catch {
      // unimplemented: only the request was wanted
    } finally {
      await client.dispose();
      for (const session of sessions) session.destroy(); // the native core keeps its connection open
      await new Promise((resolve) => server.close(resolve));
    }
    return sent;
  }

  it("reach the server from the client's native core as written only if plain; other characters go percent-encoded, encoded or not", async () => {
    // Why connect() refuses them (its own parser, for writes, decodes "%3A" to ":" and cuts "a:b" to "a").
    expect(await passwordSentOnReads("Az09!$&'()*+,-._~")).toBe("Az09!$&'()*+,-._~");
    expect(await passwordSentOnReads('a:b')).toBe('a%3Ab');
    expect(await passwordSentOnReads('a%3Ab')).toBe('a%3Ab');
    expect(await passwordSentOnReads('a=b')).toBe('a%3Db');
  });

  it('other than letters, digits and !$&\'()*+,-._~ are refused at connect, naming the hosts only; plain ones are taken', async () => {
    for (const userinfo of ['admin:Xq7:ss', 'admin:Xq7%3Ass', 'admin:Xq7 ss', 'admin:Xq7=ss', 'admin:Xq7;ss', 'admin:Xq7@ss', 'admin:Xq7äss', 'ad min:Xq7ss']) {
      let error: unknown;
      try {
        KurrentDbEventStore.connect(`kurrentdb://${userinfo}@node1:2113,node2:2113?tls=false`);
      } catch (caught) {
        error = caught;
      }
      expect(error, userinfo).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/^KURRENTDB_URL for KurrentDB at node1:2113,node2:2113 has a user name or password with a character other than/);
      const everything = JSON.stringify({ ...(error as object), message: (error as Error).message, stack: (error as Error).stack });
      expect(everything).not.toContain('Xq7');
    }
    const store = KurrentDbEventStore.connect("kurrentdb://service-user:Az09!$&'()*+,-._~@127.0.0.1:2113?tls=false");
    expect(store.endpoint).toBe('127.0.0.1:2113');
    await store.close();
  });
});

describe('the real client against a port where nothing listens', () => {
  it('appends, reads and the head position fail as "unavailable", and health says why', async () => {
    const port = await closedPort();
    const store = KurrentDbEventStore.connect(`kurrentdb://admin:changeit@127.0.0.1:${port}?tls=false`);
    try {
      const event: NewEvent = { eventId: randomUUID(), type: 'T', schemaVersion: 1, data: {}, metadata: {} };
      const append = await store.append('country-US', [event], 'any').catch((e) => e);
      expect(append).toBeInstanceOf(StoreUnavailableError);
      expect(append.message).toContain(`127.0.0.1:${port}`);
      expect(append.message).not.toContain('changeit');
      await expect(store.readStream('country-US')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.headPosition()).rejects.toBeInstanceOf(StoreUnavailableError);
      const health = await store.health();
      expect(health.ok).toBe(false);
      expect(health.reason).toMatch(new RegExp(`^KurrentDB at 127\\.0\\.0\\.1:${port} cannot be reached`));
    } finally {
      await store.close();
    }
  });

  it('a cluster none of whose nodes answers: appends are "unavailable", and each one tries to discover the cluster again', async () => {
    const ports = [await closedPort(), await closedPort()];
    const store = KurrentDbEventStore.connect(`kurrentdb://${ports.map((p) => `127.0.0.1:${p}`).join(',')}?tls=false&maxDiscoverAttempts=3&discoveryInterval=100`);
    try {
      // A dispatch journal: the append goes to the server without a read first.
      const append = () => store.append('webhook-dispatcher-r1', [{ eventId: randomUUID(), type: 'T', schemaVersion: 1, data: {}, metadata: {} }], 'any').catch((e: unknown) => e);
      const first = await append();
      expect(first).toBeInstanceOf(StoreUnavailableError);
      expect((first as Error).message).toContain('Failed to discover after 3 attempts');
      // The client keeps a failed discovery and would fail the next append at once; a new client
      // makes its three attempts again, 100 ms apart.
      const started = Date.now();
      expect(await append()).toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      await store.close();
    }
  });

  it("a subscription through the real client keeps retrying, as the server being away is no handler's failure", async () => {
    const port = await closedPort();
    const drops: unknown[] = [];
    const errors: unknown[] = [];
    // Just the two log calls the subscription makes.
    const logger = { warn: (info: unknown) => drops.push(info), error: (info: unknown) => errors.push(info) } as unknown as Logger;
    const store = KurrentDbEventStore.connect(`kurrentdb://127.0.0.1:${port}?tls=false`, { logger, retry: { firstDelayMs: 50, maxDelayMs: 100 } });
    const subscription = store.subscribe(0, () => undefined, (error) => errors.push(error));
    await expect.poll(() => drops.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
    expect(drops[0]).toMatchObject({ resumeAfter: 0, reason: expect.stringContaining(`127.0.0.1:${port}`) });
    const started = Date.now();
    await subscription.close();
    await store.close();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
