// How our events look in KurrentDB and back, as pure functions.
//
//   ours                      KurrentDB
//   eventId                   event id (a uuid; the server keeps it as given)
//   type                      event type
//   data                      JSON data (content type application/json)
//   schemaVersion, metadata   JSON metadata: { schemaVersion, $correlationId, $causationId, apiKey, ... }
//   streamRevision            stream revision (bigint)
//   position                  commit position in $all (bigint)
//   recordedAt                the server's `created` date, set when the leader wrote the event
//                             (for an imported event, the original time, kept in the metadata)
//
// correlationId and causationId travel under KurrentDB's own `$correlationId` and
// `$causationId` keys, so the server's $by_correlation_id projection and its UI
// understand them; reading maps them back, so an event reads as it was written.
import {
  ANY,
  NO_STREAM,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendStreamState,
  type CurrentStreamState,
  type EventData,
  type JSONType,
  type Position,
  type ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import type { EventMetadata, NewEvent, StoredEvent } from '../../../events/envelope.js';
import type { ExpectedRevision } from '../event-store.js';

/** The metadata document stored beside each event's data. */
export interface StoredMetadata {
  schemaVersion: number;
  $correlationId?: string;
  $causationId?: string;
  /** Only on an event imported from another store: when that store recorded it. */
  recordedAt?: string;
  [key: string]: unknown;
}

/**
 * `importedRecordedAt` is for an event copied from another store's log: the server
 * sets `created` itself, so the time the event was first recorded travels in the
 * metadata, and reads as the event's recordedAt.
 */
export function toEventData(event: NewEvent, importedRecordedAt?: string): EventData {
  const { correlationId, causationId, ...rest } = event.metadata ?? {};
  const metadata: StoredMetadata = {
    schemaVersion: event.schemaVersion,
    ...(correlationId !== undefined ? { $correlationId: correlationId } : {}),
    ...(causationId !== undefined ? { $causationId: causationId } : {}),
    ...rest,
    ...(importedRecordedAt !== undefined ? { recordedAt: importedRecordedAt } : {}),
  };
  return jsonEvent({ id: event.eventId, type: event.type, data: event.data as JSONType, metadata: metadata as JSONType });
}

/** Raised when the log holds something this service cannot read as one of its events. */
export class UnreadableEventError extends Error {
  override readonly name = 'UnreadableEventError';
}

type Resolved = ResolvedEvent | AllStreamResolvedEvent;

export function toStoredEvent(resolved: Resolved): StoredEvent {
  const recorded = resolved.event;
  if (!recorded) throw new UnreadableEventError('a link to a deleted event has no event to read');
  const commit = recorded.position?.commit ?? resolved.commitPosition;
  if (commit === undefined) {
    throw new UnreadableEventError(`event ${recorded.id} came without a log position (KurrentDB older than 22.6?)`);
  }
  const stored = parseMetadata(recorded.metadata, recorded.id);
  const { schemaVersion, $correlationId, $causationId, recordedAt, ...rest } = stored;
  const metadata: EventMetadata = {
    ...(typeof $correlationId === 'string' ? { correlationId: $correlationId } : {}),
    ...(typeof $causationId === 'string' ? { causationId: $causationId } : {}),
    ...(rest as EventMetadata),
  };
  return {
    eventId: recorded.id,
    type: recorded.type,
    // An event written by another tool without our metadata reads as version 1,
    // the first version of every event type.
    schemaVersion: typeof schemaVersion === 'number' ? schemaVersion : 1,
    data: parseData(recorded.data, recorded.isJson, recorded.id),
    metadata,
    streamId: recorded.streamId,
    streamRevision: bigintToNumber(recorded.revision, 'stream revision'),
    position: bigintToNumber(commit, 'commit position'),
    recordedAt: typeof recordedAt === 'string' ? recordedAt : recorded.created.toISOString(),
  };
}

function parseData(data: unknown, isJson: boolean, id: string): unknown {
  if (isJson && !(data instanceof Uint8Array)) {
    // The client hands back the raw text when the server holds malformed JSON.
    if (typeof data === 'string') throw new UnreadableEventError(`event ${id} has data that is not valid JSON`);
    return data;
  }
  try {
    return JSON.parse(Buffer.from(data as Uint8Array).toString('utf8'));
  } catch {
    throw new UnreadableEventError(`event ${id} has binary data that is not JSON`);
  }
}

function parseMetadata(metadata: unknown, id: string): Partial<StoredMetadata> {
  if (metadata === undefined || metadata === null) return {};
  let value = metadata;
  if (value instanceof Uint8Array) {
    try {
      value = JSON.parse(Buffer.from(value).toString('utf8'));
    } catch {
      throw new UnreadableEventError(`event ${id} has metadata that is not JSON`);
    }
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw new UnreadableEventError(`event ${id} has metadata that is not a JSON object`);
  return value as Partial<StoredMetadata>;
}

// Positions. KurrentDB gives a record's place in $all as a pair of bigints
// (commit, prepare): byte offsets in the transaction log. Our port uses one
// number that only grows, so:
// - We use the commit position alone. Every event appended through gRPC is
//   written as a self-committing record whose commit and prepare positions are
//   equal, so the commit position names one event. They differ only for events
//   written in explicit transactions of the legacy TCP API, which KurrentDB has
//   removed; such events would share a commit position and this adapter does not
//   support them.
// - A byte offset is exact as a JS number up to 2^53 - 1 (8 PiB of log), far
//   beyond any real log, but the conversion checks and refuses rather than round.
// - Positions are sparse (one event may sit at 1200, the next at 1561), and only
//   ever compared, never counted: nothing in the service may assume n + 1 follows n.
// - 0 means "before the first event": the server writes its epoch record at
//   offset 0, so no event of ours is ever at 0.

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function bigintToNumber(value: bigint, what: string): number {
  if (value < 0n || value > MAX_SAFE) throw new RangeError(`${what} ${value} cannot be represented exactly as a number`);
  return Number(value);
}

/** The $all position of the event at our position `n`, for reads and subscriptions that start there. */
export function toAllPosition(n: number): Position {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`log position ${n} must be a non-negative safe integer`);
  const value = BigInt(n);
  return { commit: value, prepare: value };
}

export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  if (expected === 'any') return ANY;
  if (expected === 'no-stream') return NO_STREAM;
  if (!Number.isSafeInteger(expected) || expected < 0) throw new RangeError(`expected revision ${expected} must be a non-negative integer`);
  return BigInt(expected);
}

/** Our "actual revision": -1 when the stream does not exist. */
export function fromCurrentState(current: CurrentStreamState | string | undefined): number {
  if (typeof current === 'bigint') return bigintToNumber(current, 'stream revision');
  return -1;
}

/** True for what the server writes for itself: system streams, metadata streams, system and link event types. */
export function isSystemRecord(resolved: Resolved): boolean {
  const event = resolved.event;
  if (!event) return true;
  return event.streamId.startsWith('$') || event.type.startsWith('$');
}
