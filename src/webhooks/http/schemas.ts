// Request and response schemas of the webhook routes, built from the endpoint
// events' vocabulary, so validation, types and /openapi.json agree.
import { z } from 'zod';
import { ChangeCursorText } from '../../http/schemas.js';
import { ChangeTypeName, Description, DisabledReason, EndpointId, EndpointUrl } from '../../../events/webhook-endpoint.js';
import { CountryCode, required } from '../../../events/vocabulary.js';
import { QueryInteger } from '../../http/schemas.js';

export const EndpointParams = z.object({ id: EndpointId });
export const DeliveryParams = z.object({ id: EndpointId, deliveryId: z.string().regex(/^dlv_[A-Za-z0-9_-]{8,64}$/, 'must be a delivery id') });

/** A filter lists each value once: a repeat is a mistake the endpoint would otherwise show back for ever. */
const noRepeats = (items: readonly string[], ctx: z.RefinementCtx) => {
  items.forEach((item, i) => {
    if (items.indexOf(item) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `repeats ${item}, listed at ${items.indexOf(item)}` });
  });
};
const Types = z.array(ChangeTypeName).min(1).max(4).superRefine(noRepeats).describe('change types to receive, each once; omit or null for every type');
const Countries = z.array(CountryCode).min(1).max(300).superRefine(noRepeats).describe('countries to receive changes about, each once; omit or null for every country');

export const CreateEndpointBody = z
  .object({
    url: EndpointUrl.describe('http(s) URL; its host must not resolve to a loopback, private, link-local or metadata address unless listed in WEBHOOK_ALLOWED_HOSTS'),
    description: Description.optional(),
    types: Types.nullable().optional(),
    countries: Countries.nullable().optional(),
  })
  .strict();

export const UpdateEndpointBody = CreateEndpointBody.partial()
  .extend({ enabled: z.boolean().optional().describe('false disables the endpoint; true enables it again (then replay what it missed)') })
  .strict();

const AFTER_MESSAGE = 'must be a log position (a whole number, 0 or more) or a change-feed cursor "<position>@<day>"';

export const ReplayBody = z
  .object({
    after: z
      .union([z.number().int(AFTER_MESSAGE).min(0, AFTER_MESSAGE), ChangeCursorText], { error: required(AFTER_MESSAGE) })
      .describe(
        "a log position, or a change-feed cursor \"<position>@<day>\" (a change's position and the UTC day of its recordedAt): every change after it that the endpoint's filters take is sent again. The changes a new day brings carry the log position of the last event before it: after a cursor they come too.",
      ),
  })
  .strict();

/**
 * For a request that takes no fields: no body, or {}; a field is refused like an unknown field
 * anywhere else. Nullable, since Fastify validates an absent body as null.
 */
export const DeliveriesQuery = z
  .object({
    status: z.enum(['pending', 'succeeded', 'failed', 'cancelled']).optional(),
    limit: QueryInteger({ min: 1, max: 500, default: 50 }),
    cursor: z.string().regex(/^[0-9]{1,15}$/, 'must be a cursor returned by a previous page').optional(),
  })
  .strict();

export const DisabledNoteView = z.object({
  type: z.literal('endpoint.disabled'),
  reason: DisabledReason.describe('gone: it answered 410; failing: every attempt failed for the configured time; manual: through the API'),
  detail: z.string(),
  at: z.string(),
  position: z.number().int(),
  failingSince: z.string().nullable(),
  replayAfter: z.number().int().describe('send this as "after" to POST /v1/webhooks/{id}/replay to get every change the endpoint missed'),
});

export const EndpointView = z.object({
  id: EndpointId,
  url: z.string(),
  description: z.string(),
  types: z.array(ChangeTypeName).nullable(),
  countries: z.array(CountryCode).nullable(),
  enabled: z.boolean(),
  disabled: DisabledNoteView.nullable(),
  lastDisabled: DisabledNoteView.nullable().describe(
    'the last endpoint.disabled note, kept once the endpoint is enabled again (which clears "disabled"): its replayAfter still brings every change missed while it was disabled',
  ),
  previousSecretValidUntil: z.string().nullable().describe('after a rotation, until when the previous secret still signs beside the new one; null once that has passed'),
  secretUnreadable: z
    .object({
      type: z.literal('secret.unreadable'),
      detail: z.string(),
      rotate: z.string().describe('POST here to issue a new secret; the held deliveries then go out signed with it'),
    })
    .nullable()
    .describe("set when the endpoint's secret cannot be opened with this service's webhook secrets key (a restore without it): nothing is sent until the secret is rotated"),
  createdAt: z.string(),
  updatedAt: z.string(),
  deliveries: z.object({
    pending: z.number().int(),
    failingSince: z.string().nullable(),
    lastSuccessAt: z.string().nullable(),
    heldUntil: z.string().nullable().describe(
      'set while the receiver\'s last 429 or 503 asked (Retry-After) to be sent nothing before this time: until then only test pings go, and deliveries, retries and replays wait. Kept in this replica\'s memory',
    ),
  }),
});

export const EndpointWithSecretView = EndpointView.extend({
  secret: z.string().describe('whsec_...; shown only now, never again'),
});

export const RotatedSecretView = z.object({
  id: EndpointId,
  secret: z.string().describe('the new whsec_ secret; shown only now'),
  previousSecretValidUntil: z.string(),
});

export const EndpointsQuery = z
  .object({
    limit: QueryInteger({ min: 1, max: 500, default: 100 }),
    cursor: z.string().regex(/^[0-9]{1,15}$/, 'must be a cursor returned by a previous page').optional(),
  })
  .strict();

export const EndpointList = z.object({ items: z.array(EndpointView), nextCursor: z.string().nullable() });

export const AttemptView = z.object({
  at: z.string(),
  statusCode: z.number().int().nullable(),
  durationMs: z.number().int(),
  error: z.string().nullable(),
  responseStart: z.string().nullable().describe('the first 1,024 bytes of the answer'),
});

export const DeliveryView = z.object({
  id: z.string(),
  endpointId: EndpointId,
  origin: z.enum(['live', 'replay', 'test']),
  webhookId: z.string().describe('the webhook-id header: the change id, the same on every retry'),
  type: z.string(),
  position: z.number().int().nullable(),
  sequence: z.number().int().nullable(),
  status: z.enum(['pending', 'succeeded', 'failed', 'cancelled']),
  attemptCount: z.number().int(),
  nextAttemptAt: z.string().nullable().describe("when the next attempt goes, at the earliest: never before the endpoint's deliveries.heldUntil"),
  createdAt: z.string(),
  attempts: z.array(AttemptView),
});

export const DeliveryPage = z.object({ items: z.array(DeliveryView), nextCursor: z.string().nullable() });

export const ReplayView = z.object({
  deliveries: z.number().int().describe('changes queued again'),
  after: z.union([z.number().int(), z.string()]).describe('the position or cursor given'),
  through: z.number().int().describe('the last log position covered; later changes are delivered live'),
  heldUntil: z.string().nullable().describe("the endpoint's deliveries.heldUntil: the replayed changes go once it has passed"),
});
