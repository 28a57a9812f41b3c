import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from '../app.js';
import type { FeedBounds } from '../feed-bounds.js';
import { publicEvent, publicMetadata } from '../../webhooks/public-log.js';
import { cursorAfter, formatCursor, parseCursor } from '../../read-model/change-cursor.js';
import { AfterQuery, ChangePage, ChangesQuery, EventPage, Problem } from '../schemas.js';

export const feedRoutes = (deps: AppDeps, bounds: FeedBounds): FastifyPluginAsyncZod => async (app) => {
  app.get('/v1/changes', {
    schema: {
      summary: 'The change feed, paged by log position',
      description: 'Read from a log position (after=0: from the start), then after the nextAfter of each page: it names the position and the day read through, so the changes a new day brings to the last position read come in the next page.',
      tags: ['changes'],
      querystring: ChangesQuery,
      // 503: a position past what the read model has applied is checked against the store's head.
      response: { 200: ChangePage, 400: Problem, 503: Problem },
    },
  }, async (request) => {
    const after = parseCursor(request.query.after)!;
    bounds.notPastTomorrow(after.day, 'querystring.after');
    await bounds.notPastTheHead(after.position, 'querystring.after');
    const items = deps.readModel.changes(after, request.query.limit);
    if (items.length > 0) return { items, nextAfter: cursorAfter(items[items.length - 1]) };
    // Nothing yet after a bare position this read model has applied: read through today, so a day
    // that begins later and stamps its changes with that position (the head, when following from
    // now) is not missed. One not applied yet stays bare: its own event's changes are still to come.
    const { position, today } = deps.readModel.checkpoint();
    const throughToday = after.day === undefined && today !== null && after.position <= position;
    return { items, nextAfter: formatCursor(throughToday ? { position: after.position, day: today } : after) };
  });

  app.get('/v1/events', {
    // 503: the log is read from the event store itself.
    schema: { summary: 'The raw event log, page by page, for auditors', tags: ['audit'], querystring: AfterQuery, response: { 200: EventPage, 400: Problem, 503: Problem } },
  }, async (request) => {
    await bounds.notPastTheHead(request.query.after, 'querystring.after');
    const items = await deps.store.readAll({ after: request.query.after, limit: request.query.limit });
    return {
      // Webhook endpoint events keep their place in the log but not their URL or sealed secret;
      // no event shows the Idempotency-Key or request hash it was written with.
      items: items.map((e) => ({ ...publicEvent(e), metadata: { ...publicMetadata(e.metadata) } })),
      nextAfter: items.length > 0 ? items[items.length - 1].position : request.query.after,
    };
  });
};
