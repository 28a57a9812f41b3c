// GET /v1/changes/stream: the change feed as Server-Sent Events. Each event's
// id is the change's place in the feed (`seq`), so a client that reconnects
// with Last-Event-ID resumes exactly where it stopped: nothing missed, nothing
// twice. Without it, `?after=<log position>` starts after a position, and with
// neither the stream starts with the next change.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { z } from 'zod';
import type { ReadModel } from '../../read-model/read-model.js';
import { ChangeFeed } from '../change-feed.js';
import { apiSecurityHeaders } from '../../http/security-headers.js';
import { QueryInteger } from '../../http/schemas.js';

const StreamQuery = z
  .object({ after: QueryInteger().describe('log position to start after, when there is no Last-Event-ID') })
  .strict();
const StreamHeaders = z.object({
  'last-event-id': z.string().regex(/^\d{1,15}$/, 'must be the id of an event this stream sent').optional(),
});

const HEARTBEAT_MS = 15_000;
const PAGE = 500;

export const changeStreamRoutes = (readModel: ReadModel, pollIntervalMs = 1_000): FastifyPluginAsyncZod => async (app) => {
  const feed = new ChangeFeed(() => readModel.file, readModel.events);
  const open = new Set<ServerResponse>();
  // Streams never end on their own; a shutdown ends them so the server can close.
  app.addHook('preClose', async () => {
    for (const response of open) response.end();
  });
  app.addHook('onClose', async () => feed.close());

  app.get('/v1/changes/stream', {
    schema: {
      summary: 'The change feed as Server-Sent Events, resuming from Last-Event-ID',
      description: 'Each event: `id` = its place in the feed, `event` = the change type, `data` = the change as in GET /v1/changes.',
      tags: ['changes'],
      querystring: StreamQuery,
      headers: StreamHeaders,
      produces: ['text/event-stream'],
    },
  }, async (request, reply) => {
    const lastEventId = request.headers['last-event-id'];
    let cursor = lastEventId !== undefined ? Number(lastEventId) : request.query.after !== undefined ? feed.seqBefore(request.query.after) : feed.lastSeq();
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      // Hijacked: Fastify's reply headers are not written, so the security headers are given here.
      ...apiSecurityHeaders(request),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': request.id,
    });
    response.write('retry: 2000\n\n');
    open.add(response);

    let closed = false;
    let wake: (() => void) | undefined;
    let dirty = false;
    const onChanges = () => {
      dirty = true;
      wake?.();
    };
    readModel.events.on('changes', onChanges);
    const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const finish = () => {
      closed = true;
      clearInterval(heartbeat);
      readModel.events.off('changes', onChanges);
      open.delete(response);
      wake?.();
    };
    response.on('close', finish);

    try {
      while (!closed) {
        dirty = false;
        const changes = feed.after(cursor, PAGE);
        for (const { seq, ...change } of changes) {
          const ok = response.write(`id: ${seq}\nevent: ${change.type}\ndata: ${JSON.stringify(change)}\n\n`);
          cursor = seq;
          if (!ok && !closed) await Promise.race([once(response, 'drain'), once(response, 'close')]);
          if (closed) break;
        }
        // Changes committed while a write waited for the client are read at once.
        if (changes.length === PAGE || closed || dirty) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollIntervalMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    } catch (error) {
      request.log.warn({ err: error }, 'the change stream ended on an error');
      response.destroy();
    }
  });
};
