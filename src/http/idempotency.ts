// Idempotency-Key on POST. The key (scoped to the API key and the route)
// becomes the id of the event the request appends, so the log itself
// remembers it: a retry finds that event and gets the first answer back; the
// same key with another body is refused.
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { CORRELATION_ID, type EventMetadata, type StoredEvent } from '../../events/envelope.js';
import { eventIdFor } from '../../events/event-ids.js';
import type { EventStore } from '../store/event-store.js';
import { unprocessable } from './problems.js';

export interface IdempotentWrite {
  eventId?: string;
  metadata: EventMetadata;
}


function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The client's X-Correlation-Id if it is short and plain (CORRELATION_ID), as
 * the request id is kept only if it is (genReqId in app.ts); otherwise the
 * request id, which the client gets back in x-request-id. Ignored rather than
 * refused: it is tracing metadata, often set by a proxy or a tracing library
 * the client does not control, and no reason to turn a statement away.
 */
function correlationIdOf(request: FastifyRequest): string {
  const given = request.headers['x-correlation-id'];
  return typeof given === 'string' && CORRELATION_ID.test(given) ? given : request.id;
}

export function writeContext(request: FastifyRequest): IdempotentWrite {
  const idempotencyKey = request.headers['idempotency-key'] as string | undefined;
  const metadata: EventMetadata = {
    correlationId: correlationIdOf(request),
    causationId: request.id,
    ...(request.apiKey ? { apiKey: request.apiKey.name } : {}),
  };
  if (!idempotencyKey) return { metadata };
  const scope = `${request.apiKey?.name ?? ''}|${request.routeOptions.url}|${idempotencyKey}`;
  return {
    eventId: eventIdFor(scope),
    metadata: {
      ...metadata,
      idempotencyKey,
      requestHash: createHash('sha256').update(canonical({ params: request.params, body: request.body })).digest('hex'),
    },
  };
}

/**
 * The event an earlier request with the same key appended, if any; 422 if that request had another
 * body. It is found by the key, or, for a write whose event id is not the key's (a statement whose
 * id the client chose is appended under that id, so two requests cannot both record it), at
 * `eventId` if that event was appended with the same key.
 */
async function earlierWrite(store: EventStore, write: IdempotentWrite, eventId?: string): Promise<StoredEvent | undefined> {
  if (!write.eventId) return undefined;
  let earlier = await store.findEvent(write.eventId);
  if (!earlier && eventId) {
    const there = await store.findEvent(eventId);
    const sameKey = there && there.metadata.idempotencyKey === write.metadata.idempotencyKey && there.metadata.apiKey === write.metadata.apiKey;
    if (sameKey) earlier = there;
  }
  if (earlier && earlier.metadata.requestHash !== write.metadata.requestHash) {
    throw unprocessable('this Idempotency-Key was already used with a different request body', [
      { path: 'headers.idempotency-key', message: 'was used before with a different body' },
    ]);
  }
  return earlier;
}

/**
 * Runs a write once per Idempotency-Key. A repeat gets the event the first request appended
 * (`earlier`), found before it runs, or after it lost a race to it: `lostRace` says which errors of
 * `run` can mean that (a repeated event id, a stream the key names already taken).
 */
export async function oncePerKey<T>(
  store: EventStore,
  write: IdempotentWrite,
  run: () => Promise<T>,
  lostRace: (error: unknown) => boolean,
  eventId?: string,
): Promise<{ result: T } | { earlier: StoredEvent }> {
  const earlier = await earlierWrite(store, write, eventId);
  if (earlier) return { earlier };
  try {
    return { result: await run() };
  } catch (error) {
    if (!lostRace(error)) throw error;
    const winner = await earlierWrite(store, write, eventId);
    if (!winner) throw error;
    return { earlier: winner };
  }
}
