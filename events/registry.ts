// One registry from event type to its current schema version, its zod schema
// and the upcasters that lift older versions to the current one. Every read of
// the log goes through `decodeEvent`, so old events stay readable forever.
import { newId } from './event-ids.js';
import type { z } from 'zod';
import type { EventMetadata, NewEvent, StoredEvent } from './envelope.js';
import { SourceAttached } from './source-attached.js';
import { StatementRecorded, upcastStatementRecordedV1 } from './statement-recorded.js';
import { StatementRetracted } from './statement-retracted.js';
import { dispatchJournalCatalog } from './webhook-dispatch.js';
import { readAsStored } from './vocabulary.js';
import { webhookEndpointCatalog } from './webhook-endpoint.js';

type Upcaster = (data: unknown) => unknown;

interface EventDefinition<S extends z.ZodType> {
  schema: S;
  version: number;
  /** `upcasters[v]` turns data of version v into version v + 1. */
  upcasters: Record<number, Upcaster>;
}

function define<S extends z.ZodType>(schema: S, version: number, upcasters: Record<number, Upcaster> = {}): EventDefinition<S> {
  return { schema, version, upcasters };
}

export const eventCatalog = {
  StatementRecorded: define(StatementRecorded, 2, { 1: upcastStatementRecordedV1 }),
  StatementRetracted: define(StatementRetracted, 1),
  SourceAttached: define(SourceAttached, 1),
};

export type EventType = keyof typeof eventCatalog;
export type EventData<T extends EventType> = z.infer<(typeof eventCatalog)[T]['schema']>;

/**
 * Every type the log may hold: the statement events above, the webhook endpoint
 * events and the replicas' dispatch journal (both decoded in src/webhooks/).
 */
const everyDefinition: Record<string, EventDefinition<z.ZodType>> = { ...eventCatalog, ...webhookEndpointCatalog, ...dispatchJournalCatalog };

/** A decoded event: a discriminated union on `type`, with data in the current version. */
export type DomainEvent = {
  [T in EventType]: Omit<StoredEvent, 'type' | 'data' | 'schemaVersion'> & { type: T; schemaVersion: number; data: EventData<T> };
}[EventType];

export class UnknownEventTypeError extends Error {
  constructor(readonly eventType: string) {
    super(`unknown event type "${eventType}"`);
  }
}

export function isKnownEventType(type: string): type is EventType {
  return Object.hasOwn(eventCatalog, type);
}

/** Lifts stored data to the current version and validates it. */
export function upcast(type: string, schemaVersion: number, data: unknown): unknown {
  const definition = Object.hasOwn(everyDefinition, type) ? everyDefinition[type] : undefined;
  if (!definition) throw new UnknownEventTypeError(type);
  if (schemaVersion > definition.version) {
    throw new Error(`${type} version ${schemaVersion} is newer than this code knows (${definition.version})`);
  }
  // Text recorded before the free-text rule is read as it was stored: by the lifts from
  // older versions (which parse with the old schemas) as much as by the last parse.
  return readAsStored(() => {
    let current = data;
    for (let version = schemaVersion; version < definition.version; version++) {
      const lift = definition.upcasters[version];
      if (!lift) throw new Error(`no upcaster for ${type} from version ${version}`);
      current = lift(current);
    }
    return definition.schema.parse(current);
  });
}

export function decodeEvent(stored: StoredEvent): DomainEvent {
  return {
    ...stored,
    schemaVersion: everyDefinition[stored.type]?.version ?? stored.schemaVersion,
    data: upcast(stored.type, stored.schemaVersion, stored.data),
  } as DomainEvent;
}

/** Builds a new event in the current schema version; the data is validated here too. */
export function newEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  metadata: EventMetadata = {},
  eventId: string = newId(),
): NewEvent {
  const definition = eventCatalog[type];
  return { eventId, type, schemaVersion: definition.version, data: definition.schema.parse(data), metadata };
}

export const countryStream = (country: string): string => `country-${country}`;
