// Webhook endpoints are event-sourced like statements, each in its own stream
// `webhook-endpoint-<id>`. The signing secret is in the log only sealed
// (AES-256-GCM, see src/webhooks/secret-box.ts): the log is immutable, exported
// and public page by page, so a plain secret written there could never be
// taken back.
import { z } from 'zod';
import type { EventMetadata, NewEvent } from './envelope.js';
import { CountryCode, FreeText, Instant, readingTheLog } from './vocabulary.js';
import { newId } from './event-ids.js';

export const EndpointId = z.string().regex(/^ep_[A-Za-z0-9_-]{8,64}$/, 'must be an endpoint id, e.g. "ep_4f9c2a1b0d3e"');
export type EndpointId = z.infer<typeof EndpointId>;

/** The change types a subscriber can filter on (projections/changes.ts `ChangeType`). */
export const ChangeTypeName = z.enum(['position.changed', 'history.revised', 'statement.recorded', 'statement.retracted']);

/** `v1.<iv>.<tag>.<ciphertext>`, each part base64url. */
export const SealedSecret = z.string().regex(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a sealed secret');

export const EndpointUrl = z
  .url({ protocol: /^https?$/ })
  .max(2_000)
  // As the URL is parsed, not as it looks: "http:///user:pw@host" has credentials too. An endpoint
  // stored before this was checked so is read as stored (its credentials were never sent).
  .refine((url) => readingTheLog() || !hasCredentials(url), { message: 'must not contain credentials' });

function hasCredentials(url: string): boolean {
  // A URL that does not parse is refused by z.url(), whose check does not stop this one running.
  if (!URL.canParse(url)) return false;
  const { username, password } = new URL(url);
  return username !== '' || password !== '';
}

/** No filter (null) means every type, or every country. */
const TypeFilter = z.array(ChangeTypeName).min(1).max(4).nullable();
const CountryFilter = z.array(CountryCode).min(1).max(300).nullable();
export const Description = FreeText.max(500);

export const WebhookEndpointCreated = z
  .object({
    endpointId: EndpointId,
    url: EndpointUrl,
    description: Description.default(''),
    types: TypeFilter.default(null),
    countries: CountryFilter.default(null),
    secret: SealedSecret,
  })
  .strict();

export const WebhookEndpointUpdated = z
  .object({
    endpointId: EndpointId,
    url: EndpointUrl.optional(),
    description: Description.optional(),
    types: TypeFilter.optional(),
    countries: CountryFilter.optional(),
  })
  .strict();

/** The previous secret keeps signing beside the new one until `previousValidUntil`. */
export const WebhookEndpointSecretRotated = z
  .object({
    endpointId: EndpointId,
    secret: SealedSecret,
    previousValidUntil: Instant,
  })
  .strict();

export const DisabledReason = z.enum(['gone', 'failing', 'manual']);

/**
 * The `endpoint.disabled` note: why, and from which log position a replay
 * brings back everything the endpoint did not get.
 */
export const WebhookEndpointDisabled = z
  .object({
    endpointId: EndpointId,
    reason: DisabledReason,
    detail: z.string().max(2_000),
    failingSince: Instant.optional(),
    replayAfter: z.number().int().min(0),
  })
  .strict();

export const WebhookEndpointEnabled = z.object({ endpointId: EndpointId }).strict();
export const WebhookEndpointDeleted = z.object({ endpointId: EndpointId }).strict();

const v1 = <S extends z.ZodType>(schema: S) => ({ schema, version: 1, upcasters: {} as Record<number, (data: unknown) => unknown> });

/** Registered beside the statement events in events/registry.ts, so every reader of the log can decode them. */
export const webhookEndpointCatalog = {
  WebhookEndpointCreated: v1(WebhookEndpointCreated),
  WebhookEndpointUpdated: v1(WebhookEndpointUpdated),
  WebhookEndpointSecretRotated: v1(WebhookEndpointSecretRotated),
  WebhookEndpointDisabled: v1(WebhookEndpointDisabled),
  WebhookEndpointEnabled: v1(WebhookEndpointEnabled),
  WebhookEndpointDeleted: v1(WebhookEndpointDeleted),
};

export type WebhookEndpointEventType = keyof typeof webhookEndpointCatalog;
export type WebhookEndpointEventData<T extends WebhookEndpointEventType> = z.infer<(typeof webhookEndpointCatalog)[T]['schema']>;

export function isWebhookEndpointEventType(type: string): type is WebhookEndpointEventType {
  return Object.hasOwn(webhookEndpointCatalog, type);
}

export const endpointStream = (endpointId: string): string => `webhook-endpoint-${endpointId}`;
export const isEndpointStream = (streamId: string): boolean => streamId.startsWith('webhook-endpoint-');

export function newEndpointEvent<T extends WebhookEndpointEventType>(
  type: T,
  data: z.input<(typeof webhookEndpointCatalog)[T]['schema']>,
  metadata: EventMetadata = {},
): NewEvent {
  const definition = webhookEndpointCatalog[type];
  return { eventId: newId(), type, schemaVersion: definition.version, data: definition.schema.parse(data), metadata };
}
