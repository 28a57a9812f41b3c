// The raw log is public (GET /v1/events), but an endpoint's URL can carry a
// token and its events a sealed secret: for anyone reading the log page by
// page, webhook endpoint events keep their place, type and endpoint id, and
// nothing else. Admins see endpoints at /v1/webhooks.
import type { StoredEvent } from '../../events/envelope.js';
import { isEndpointStream } from '../../events/webhook-endpoint.js';

export function publicEvent<E extends StoredEvent>(event: E): E {
  if (!isEndpointStream(event.streamId)) return event;
  const { endpointId } = event.data as { endpointId?: string };
  return { ...event, data: { endpointId, redacted: 'webhook endpoint details are shown to admin keys only, at /v1/webhooks' } };
}
