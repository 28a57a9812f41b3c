// Webhook endpoints and their deliveries. Every route needs an admin key.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseCursor } from '../../read-model/change-cursor.js';
import type { ApiKey } from '../../config.js';
import { requireRole } from '../../http/auth.js';
import { oncePerKey, writeContext } from '../../http/idempotency.js';
import type { StoredEvent } from '../../../events/envelope.js';
import { DuplicateEventError, StreamConflictError, type EventStore } from '../../store/event-store.js';
import { conflict, notFound, unavailable } from '../../http/problems.js';
import { NoFieldsBody, Problem, WriteHeaders } from '../../http/schemas.js';
import type { FeedBounds } from '../../http/feed-bounds.js';
import type { Webhooks } from '../webhooks.js';
import type { Endpoint } from '../endpoint.js';
import {
  CreateEndpointBody,
  DeliveriesQuery,
  DeliveryPage,
  DeliveryParams,
  DeliveryView,
  EndpointList,
  EndpointsQuery,
  EndpointParams,
  EndpointView,
  EndpointWithSecretView,
  ReplayBody,
  ReplayView,
  RotatedSecretView,
  UpdateEndpointBody,
} from './schemas.js';
import { deliveryView, endpointView, iso } from './views.js';

/** As for statements: an Idempotency-Key of 1-255 characters (If-Match has no stream to name here). */
const CreateHeaders = WriteHeaders.pick({ 'idempotency-key': true });

/** Why a replay ended before all its changes were queued. */
const replayStopped = {
  disabled: () => conflict('the endpoint was disabled while the replay was queued, and what was queued was cancelled with it; enable it and replay again'),
  deleted: () => notFound('the endpoint was deleted while the replay was queued'),
  stopping: () => unavailable('the service is stopping; the replay is queued in part, and the rest is queued when it starts again (sending it again would queue those changes twice)'),
};

export const webhookRoutes = (webhooks: Webhooks, keys: readonly ApiKey[], bounds: FeedBounds, store: EventStore): FastifyPluginAsyncZod => async (app) => {
  const admin = requireRole(keys, 'admin');
  // What each route refuses with, so the document lists no status a route cannot send (openapi.ts
  // adds the 400, 413, 415, 414 and 429 where they apply). Every route: bad input, no key, not an admin's.
  const refused = { 400: Problem, 401: Problem, 403: Problem };
  // About one endpoint, which may not exist; acting on it in a state that does not allow it (409).
  const ofOne = { ...refused, 404: Problem };
  const actsOnOne = { ...ofOne, 409: Problem };
  // Changing it appends to the event store: 503 when that cannot be reached.
  const changesOne = { ...actsOnOne, 503: Problem };
  const common = { preHandler: admin, tags: ['webhooks'], security: [{ bearer: [] }] };
  const shown = (endpoint: Endpoint) => endpointView(endpoint, webhooks.health(endpoint.id), webhooks.now(), webhooks.endpoints.lastDisabled(endpoint.id));
  const view = (id: string) => {
    const endpoint = webhooks.endpoints.get(id);
    if (!endpoint) throw notFound(`no webhook endpoint with id "${id}"`);
    return shown(endpoint);
  };
  const found = <T>(value: T | undefined, id: string): T => {
    if (value === undefined) throw notFound(`no webhook endpoint with id "${id}"`);
    return value;
  };

  /**
   * An Idempotency-Key already used to create an endpoint: its answer cannot be given again, since
   * the secret in it is shown once and kept only sealed, so the repeat is refused (409), naming the
   * endpoint and how to get a secret for it, rather than creating a second endpoint.
   */
  const createdBefore = (earlier: StoredEvent) => {
    const { endpointId } = earlier.data as { endpointId: string };
    return conflict(
      `this Idempotency-Key already created the endpoint "${endpointId}" (/v1/webhooks/${endpointId}); its secret was shown once, in that answer: ` +
        `if it was lost, issue a new one (POST /v1/webhooks/${endpointId}/rotate-secret)`,
    );
  };
  // Two requests with the same key raced to the stream the key names (its id is made from the key).
  const lostRace = (error: unknown) => error instanceof DuplicateEventError || error instanceof StreamConflictError;

  app.post('/v1/webhooks', {
    preHandler: admin,
    schema: {
      summary: 'Create a webhook endpoint; its signing secret is in this answer and never again',
      tags: common.tags,
      security: common.security,
      body: CreateEndpointBody,
      headers: CreateHeaders,
      description:
        'With an Idempotency-Key, a repeat does not create a second endpoint: it is refused with 409 naming the endpoint the first request created (whose secret was in that answer only; rotate it if the answer was lost), or 422 if the key came with another body.',
      response: { 201: EndpointWithSecretView, ...refused, 409: Problem, 422: Problem, 503: Problem },
    },
  }, async (request, reply) => {
    const write = writeContext(request);
    const outcome = await oncePerKey(store, write, () => webhooks.commands.create(request.body, write.metadata, write.eventId), lostRace);
    if ('earlier' in outcome) throw createdBefore(outcome.earlier);
    const { endpoint, secret } = outcome.result;
    // The secret is in this answer only: no cache along the way may keep it.
    return reply.code(201).header('location', `/v1/webhooks/${endpoint.id}`).header('cache-control', 'no-store').send({ ...view(endpoint.id), secret });
  });

  app.get('/v1/webhooks', {
    preHandler: admin,
    schema: { summary: 'Every webhook endpoint, oldest first, paged', tags: common.tags, security: common.security, querystring: EndpointsQuery, response: { 200: EndpointList, ...refused } },
  }, async (request) => {
    // Paged like every other list (issue 7): the cursor is the log position that created the last endpoint shown.
    const { limit, cursor } = request.query;
    const page = webhooks.endpoints.all().filter((e) => e.createdPosition > Number(cursor ?? 0)).slice(0, limit);
    return { items: page.map(shown), nextCursor: page.length === limit ? String(page[page.length - 1].createdPosition) : null };
  });

  app.get('/v1/webhooks/:id', {
    preHandler: admin,
    schema: { summary: 'One endpoint (never its secret)', tags: common.tags, security: common.security, params: EndpointParams, response: { 200: EndpointView, ...ofOne } },
  }, async (request) => view(request.params.id));

  app.patch('/v1/webhooks/:id', {
    preHandler: admin,
    schema: {
      summary: 'Change the URL, filters or description; disable or enable',
      tags: common.tags,
      security: common.security,
      params: EndpointParams,
      body: UpdateEndpointBody,
      response: { 200: EndpointView, ...changesOne, 422: Problem },
    },
  }, async (request) => {
    found(await webhooks.commands.update(request.params.id, request.body, writeContext(request).metadata), request.params.id);
    return view(request.params.id);
  });

  app.delete('/v1/webhooks/:id', {
    preHandler: admin,
    schema: { summary: 'Delete an endpoint; its pending deliveries are cancelled', tags: common.tags, security: common.security, params: EndpointParams, body: NoFieldsBody, response: { 204: z.null().describe('deleted'), ...changesOne } },
  }, async (request, reply) => {
    if (!(await webhooks.commands.delete(request.params.id, writeContext(request).metadata))) found(undefined, request.params.id);
    return reply.code(204).send(null);
  });

  app.post('/v1/webhooks/:id/rotate-secret', {
    preHandler: admin,
    schema: {
      summary: 'Issue a new secret; the previous one keeps signing beside it for 24 hours (not at all when it cannot be opened, as after a restore without the secrets key)',
      tags: common.tags,
      security: common.security,
      params: EndpointParams,
      body: NoFieldsBody,
      response: { 200: RotatedSecretView, ...changesOne },
    },
  }, async (request, reply) => {
    const rotated = found(await webhooks.commands.rotateSecret(request.params.id, writeContext(request).metadata), request.params.id);
    return reply.header('cache-control', 'no-store').send({ id: rotated.endpoint.id, secret: rotated.secret, previousSecretValidUntil: rotated.previousValidUntil });
  });

  app.get('/v1/webhooks/:id/deliveries', {
    preHandler: admin,
    schema: {
      summary: 'The delivery log, newest first, with every attempt',
      tags: common.tags,
      security: common.security,
      params: EndpointParams,
      querystring: DeliveriesQuery,
      response: { 200: DeliveryPage, ...ofOne },
    },
  }, async (request) => {
    view(request.params.id);
    const { cursor, status, limit } = request.query;
    const rows = webhooks.deliveries(request.params.id, { before: cursor ? Number(cursor) : undefined, status, limit });
    const heldUntil = webhooks.heldUntil(request.params.id);
    return { items: rows.map((row) => deliveryView(row, heldUntil)), nextCursor: rows.length === limit ? String(rows[rows.length - 1].n) : null };
  });

  app.post('/v1/webhooks/:id/deliveries/:deliveryId/retry', {
    preHandler: admin,
    schema: {
      summary: 'Send a delivery again now, with a fresh retry schedule',
      description: 'Refused (409) while the endpoint is disabled, but for a test ping: enable it first (PATCH {"enabled": true}).',
      tags: common.tags,
      security: common.security,
      params: DeliveryParams,
      body: NoFieldsBody,
      response: { 202: DeliveryView, ...actsOnOne },
    },
  }, async (request, reply) => {
    view(request.params.id);
    const outcome = webhooks.retry(request.params.id, request.params.deliveryId);
    if ('notFound' in outcome) throw notFound(`endpoint "${request.params.id}" has no delivery "${request.params.deliveryId}"`);
    if ('inFlight' in outcome) throw conflict('an attempt of this delivery is in flight; look again when it has finished');
    if ('endpointDisabled' in outcome) throw conflict('the endpoint is disabled; enable it (PATCH {"enabled": true}) before retrying a delivery');
    const { attemptLog } = webhooks.delivery(request.params.id, request.params.deliveryId)!;
    return reply.code(202).send(deliveryView({ ...outcome.delivery, attemptLog }, webhooks.heldUntil(request.params.id)));
  });

  app.post('/v1/webhooks/:id/replay', {
    preHandler: admin,
    schema: {
      summary: 'Send again every change after a log position',
      description:
        'Each replayed change keeps its webhook-id (the change id) and the sequence number it had live for this endpoint (changes made while it was disabled were numbered too, so a replay fills the gap the receiver saw); one the endpoint never had live ' +
        '(from before it existed, or one its filters then left out) has "sequence": null. A replay does not move the endpoint\'s numbering. The endpoint must be enabled. ' +
        'The answer comes once every change is queued: on a long log that is written in batches, other requests being answered meanwhile, and the endpoint is sent nothing else until the replay is whole, so its receiver gets the replay in log order and the changes made meanwhile after it. ' +
        'A replay cut short by a crash or a stop is finished at the next start, each change queued once.',
      tags: common.tags,
      security: common.security,
      params: EndpointParams,
      body: ReplayBody,
      // 503: a start past what the read model has applied is checked against the store's head.
      response: { 202: ReplayView, ...changesOne },
    },
  }, async (request, reply) => {
    view(request.params.id);
    const endpoint = webhooks.endpoints.get(request.params.id)!;
    if (!endpoint.enabled) throw conflict('the endpoint is disabled; enable it (PATCH {"enabled": true}) before replaying');
    const { after } = request.body;
    const from = typeof after === 'number' ? { position: after } : parseCursor(after)!;
    // As the change feed: a start past what exists would replay nothing and say nothing of why.
    bounds.notPastTomorrow(from.day, 'body.after');
    await bounds.notPastTheHead(from.position, 'body.after');
    const outcome = await webhooks.replay(endpoint, from);
    if ('stopped' in outcome) throw replayStopped[outcome.stopped]();
    const { deliveries, through } = outcome;
    return reply.code(202).send({ deliveries, after: request.body.after, through, heldUntil: iso(webhooks.heldUntil(endpoint.id)) });
  });

  app.post('/v1/webhooks/:id/test', {
    preHandler: admin,
    schema: {
      summary: 'Send a signed webhook.test ping, and answer with its first attempt',
      tags: common.tags,
      security: common.security,
      params: EndpointParams,
      body: NoFieldsBody,
      response: { 200: DeliveryView, ...actsOnOne },
    },
  }, async (request) => {
    view(request.params.id);
    if (!webhooks.secretReadable(request.params.id)) {
      throw conflict("the endpoint's secret cannot be opened with this service's webhook secrets key; rotate it (POST .../rotate-secret) before a test ping");
    }
    return deliveryView(await webhooks.ping(request.params.id, webhooks.settings.timeoutMs + 1_000), null);
  });
};
