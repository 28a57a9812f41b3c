// The raw log is public (GET /v1/events), but an endpoint's URL can carry a
// token and its events a sealed secret: for anyone reading the log page by
// page, webhook endpoint events keep their place, type and endpoint id, and
// nothing else. Admins see endpoints at /v1/webhooks.
//
// Of every event's metadata the public sees who wrote it (the API key's name)
// and the correlation and causation ids, not the Idempotency-Key and request
// hash, which the log keeps for retries: they tell a reader nothing about the
// evidence, and a client's key may carry its own identifiers.
import { CORRELATION_ID, type EventMetadata, type StoredEvent } from '../../events/envelope.js';
import { isEndpointStream } from '../../events/webhook-endpoint.js';

export function publicEvent<E extends StoredEvent>(event: E): E {
  if (!isEndpointStream(event.streamId)) return event;
  const { endpointId } = event.data as { endpointId?: string };
  return { ...event, data: { endpointId, redacted: 'webhook endpoint details are shown to admin keys only, at /v1/webhooks' } };
}

/** The metadata anyone may read; a correlation id written before ids were checked is shown only if it passes the check now. */
export function publicMetadata(metadata: EventMetadata): EventMetadata {
  const { correlationId, causationId, apiKey } = metadata;
  return {
    ...(correlationId !== undefined && CORRELATION_ID.test(correlationId) ? { correlationId } : {}),
    ...(causationId !== undefined && CORRELATION_ID.test(causationId) ? { causationId } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
  };
}
