import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from '../app.js';
import { publicEvent, publicMetadata } from '../../webhooks/public-log.js';
import { AfterQuery, ChangePage, EventPage, Problem } from '../schemas.js';

export const feedRoutes = (deps: AppDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/v1/changes', {
    schema: { summary: 'The change feed, paged by log position', tags: ['changes'], querystring: AfterQuery, response: { 200: ChangePage, 400: Problem } },
  }, async (request) => {
    const items = deps.readModel.changes(request.query.after, request.query.limit);
    return { items, nextAfter: items.length > 0 ? items[items.length - 1].position : request.query.after };
  });

  app.get('/v1/events', {
    schema: { summary: 'The raw event log, page by page, for auditors', tags: ['audit'], querystring: AfterQuery, response: { 200: EventPage, 400: Problem } },
  }, async (request) => {
    const items = await deps.store.readAll({ after: request.query.after, limit: request.query.limit });
    return {
      // Webhook endpoint events keep their place in the log but not their URL or sealed secret;
      // no event shows the Idempotency-Key or request hash it was written with.
      items: items.map((e) => ({ ...publicEvent(e), metadata: { ...publicMetadata(e.metadata) } })),
      nextAfter: items.length > 0 ? items[items.length - 1].position : request.query.after,
    };
  });
};
