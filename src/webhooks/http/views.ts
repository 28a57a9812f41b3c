// How endpoints and deliveries are shown: never a secret, sealed or not.
import { signingKeys, type DisabledNote, type Endpoint } from '../endpoint.js';
import { deliveryId, type AttemptRow, type DeliveryRow } from '../webhook-db.js';
import type { EndpointHealth } from '../webhooks.js';

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function endpointView(endpoint: Endpoint, health: EndpointHealth, now: number, lastDisabled: DisabledNote | null) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    types: endpoint.types,
    countries: endpoint.countries,
    enabled: endpoint.enabled,
    disabled: endpoint.disabled,
    lastDisabled,
    // Only while the previous secret still signs: once its overlap has passed it is gone for the receiver too.
    previousSecretValidUntil: signingKeys(endpoint, now)[1]?.until ?? null,
    secretUnreadable: health.secretReadable ? null : secretUnreadable(endpoint.id),
    createdAt: endpoint.createdAt,
    updatedAt: endpoint.updatedAt,
    deliveries: { pending: health.pending, failingSince: iso(health.failingSince), lastSuccessAt: iso(health.lastSuccessAt), heldUntil: iso(health.heldUntil) },
  };
}

/** Said of an endpoint whose secret was sealed under another key than this service's. */
function secretUnreadable(endpointId: string) {
  return {
    type: 'secret.unreadable' as const,
    detail:
      "the endpoint's signing secret cannot be opened with this service's webhook secrets key (WEBHOOK_SECRETS_KEY or DATA_DIR/webhook-secrets.key): " +
      'it was sealed under another key, as after a restore without the key. Nothing is sent to the endpoint and its deliveries stay pending ' +
      'until the secret is rotated; give the receiver the new secret.',
    rotate: `/v1/webhooks/${endpointId}/rotate-secret`,
  };
}

/** `heldUntil`: the endpoint's receiver asked for nothing before then, so a pending delivery (not a test ping) waits for it. */
export function deliveryView(row: DeliveryRow & { attemptLog: AttemptRow[] }, heldUntil: number | null) {
  const waits = heldUntil !== null && row.origin !== 'test' && row.next_attempt_at !== null;
  return {
    id: deliveryId(row.n),
    endpointId: row.endpoint_id,
    origin: row.origin,
    webhookId: row.message_id,
    type: row.type,
    position: row.position,
    sequence: row.sequence,
    // 'sending' is this process's business: to a reader it is still pending.
    status: row.status === 'sending' ? ('pending' as const) : row.status,
    attemptCount: row.attempts,
    nextAttemptAt: iso(waits ? Math.max(row.next_attempt_at!, heldUntil) : row.next_attempt_at),
    createdAt: new Date(row.created_at).toISOString(),
    attempts: row.attemptLog.map((a) => ({
      at: new Date(a.attempted_at).toISOString(),
      statusCode: a.status_code,
      durationMs: a.duration_ms,
      error: a.error,
      responseStart: a.response,
    })),
  };
}
