// GET /v1/changes/stream: the change feed as Server-Sent Events. Each event's
// id is a change-feed cursor (`<position>@<day>`, as GET /v1/changes pages
// with), sent on the last change of each position and day, so a client that
// reconnects with Last-Event-ID resumes exactly after what it has whole:
// nothing missed, and nothing twice unless it dropped in the middle of a
// position's changes. Cursors name the log, not this read model's rows, so a
// client can resume on another replica or after a rebuild. Without
// Last-Event-ID, `?after=<position or cursor>` starts there, and with neither
// the stream starts with the next change, giving that place as an id at once.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ReadModel } from '../../read-model/read-model.js';
import { cursorOf, formatCursor, parseCursor, sameGroup, type ChangeCursor } from '../../read-model/change-cursor.js';
import { ChangeFeed, type FeedChange } from '../change-feed.js';
import { apiSecurityHeaders } from '../../http/security-headers.js';
import { badRequest, tooManyRequests } from '../../http/problems.js';
import type { FeedBounds } from '../../http/feed-bounds.js';
import { StoreUnavailableError } from '../../store/event-store.js';
import { ChangeCursorText } from '../../http/schemas.js';

const StreamQuery = z
  .object({ after: ChangeCursorText.optional().describe('a log position, or a cursor (the id of an event this stream sent), to start after when there is no Last-Event-ID') })
  .strict();
const StreamHeaders = z.object({
  // Digits alone are the ids this stream sent before its ids were cursors: the place in this read model's feed.
  // Empty is no id at all: an EventSource whose last event id was reset by an empty `id:` holds the empty
  // string, which the WHATWG spec says not to send, and which a server is to read as none if it comes.
  'last-event-id': z
    .union([z.literal(''), ChangeCursorText.refine((id) => id.includes('@')), z.string().regex(/^\d{1,15}$/)], {
      error: 'must be the id of an event this stream sent',
    })
    .optional()
    .describe('the id of the last event received, to resume after it; empty is the same as none'),
});

const HEARTBEAT_MS = 15_000;
const PAGE = 500;

export interface StreamOptions {
  /** Streams open at once from one client address (request.ip, so behind TRUST_PROXY the client's); 0: no cap. */
  streamsPerAddress?: number;
  pollIntervalMs?: number;
}

export const changeStreamRoutes = (readModel: ReadModel, bounds: FeedBounds, options: StreamOptions = {}): FastifyPluginAsyncZod => async (app) => {
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const streamsPerAddress = options.streamsPerAddress ?? 0;
  // Each open stream holds a socket and looks at the feed; the rate limit counts only its opening.
  const openFrom = new Map<string, number>();
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
      description:
        'Each event: `event` = the change type, `data` = the change as in GET /v1/changes, and on the last change of each log position and day `id` = the feed cursor `<position>@<day>` (as GET /v1/changes pages with), which Last-Event-ID resumes after (a plain number there is an id this stream sent before its ids were cursors, a place in this replica\'s feed, not a log position: start at a log position with after). With neither Last-Event-ID nor after it starts with the next change, and first sends its place as an id alone (no event), so a client that drops before that change resumes after it with nothing missed. A place past the head of the log, or a cursor naming a day after tomorrow (UTC), is a 400, as on GET /v1/changes (but while the store cannot be reached a position ahead of this read model is taken as given, so that an EventSource, which does not reconnect after an error status, stays connected). HEAD answers with the stream\'s headers and ends.',
      tags: ['changes'],
      querystring: StreamQuery,
      headers: StreamHeaders,
      produces: ['text/event-stream'],
      response: {
        // Documentation only: the stream is written by hand (hijacked), never serialised.
        200: { description: 'The stream: it stays open, with a comment line every 15 s to keep it alive', content: { 'text/event-stream': { schema: z.string() } } },
      },
    },
  }, async (request, reply) => {
    const lastEventId = request.headers['last-event-id'] || undefined;
    let seq: number;
    // Where the client stands in the log, as of the last id sent: a rebuilt read model swapped in
    // may number its changes otherwise, and the stream finds its place there again from this.
    let standsAt: ChangeCursor | undefined;
    if (lastEventId !== undefined && !lastEventId.includes('@')) {
      // An id from before ids were cursors: a place in this read model's feed, which must exist.
      seq = Number(lastEventId);
      if (seq > feed.lastSeq()) {
        throw badRequest(`Last-Event-ID ${lastEventId} is past the end of this feed; reconnect with ?after=<log position>`, [
          { path: 'headers.last-event-id', message: 'is not the id of an event this stream sent' },
        ]);
      }
    } else {
      standsAt = parseCursor(lastEventId ?? request.query.after ?? '');
      if (standsAt) {
        // As GET /v1/changes: a place past what exists would start the stream somewhere it does not say.
        const field = lastEventId !== undefined ? 'headers.last-event-id' : 'querystring.after';
        bounds.notPastTomorrow(standsAt.day, field);
        // With the store away (only a cursor ahead of this read model asks it), the stream starts
        // all the same: an EventSource does not reconnect after an error status.
        await bounds.notPastTheHead(standsAt.position, field).catch((error: unknown) => {
          if (!(error instanceof StoreUnavailableError)) throw error;
        });
      }
      seq = standsAt ? feed.seqBefore(standsAt.position, standsAt.day) : feed.lastSeq();
      const last = standsAt ? undefined : feed.after(seq - 1, 1)[0];
      if (last) standsAt = cursorOf(last);
    }
    let generation = feed.generation;
    const from = request.ip;
    if (streamsPerAddress > 0 && request.method !== 'HEAD' && (openFrom.get(from) ?? 0) >= streamsPerAddress) {
      throw tooManyRequests(`at most ${streamsPerAddress} change streams may be open at once from one address; close one, or page with GET /v1/changes`, 5);
    }
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
    // HEAD (which Fastify routes here) has no body: node ignores writes to it and would never send
    // the headers, so the request would hang. The headers are the whole answer.
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    response.write('retry: 2000\n\n');
    // Started with the next change, the stream gives the client its place at once (an id alone sets an
    // EventSource's last id without an event): one that dropped before that change came would have no
    // Last-Event-ID to send, and would start again after whatever was written meanwhile. With no change
    // yet, the place is the feed's start, 0 (in the log or in the feed, the same place).
    if (lastEventId === undefined && request.query.after === undefined) response.write(`id: ${standsAt ? formatCursor(standsAt) : '0'}\n\n`);
    open.add(response);
    openFrom.set(from, (openFrom.get(from) ?? 0) + 1);

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
      const left = (openFrom.get(from) ?? 1) - 1;
      if (left > 0) openFrom.set(from, left);
      else openFrom.delete(from);
      wake?.();
    };
    response.on('close', finish);

    try {
      while (!closed) {
        dirty = false;
        const changes = wholePositions(feed, feed.after(seq, PAGE));
        if (feed.generation !== generation) {
          generation = feed.generation;
          if (standsAt) seq = feed.seqBefore(standsAt.position, standsAt.day);
          continue;
        }
        for (const [i, { seq: place, ...change }] of changes.entries()) {
          // The id (the cursor) only once the position's changes of that day are all sent.
          const next = changes[i + 1];
          const id = next && sameGroup(next, change) ? undefined : cursorOf(change);
          if (id) standsAt = id;
          const ok = response.write(`${id ? `id: ${formatCursor(id)}\n` : ''}event: ${change.type}\ndata: ${JSON.stringify(change)}\n\n`);
          seq = place;
          if (!ok && !closed) await drained(response);
          if (closed) break;
        }
        // Changes committed while a write waited for the client are read at once.
        if (changes.length >= PAGE || closed || dirty) continue;
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

/**
 * Resolves once the client has taken what was written, or has gone. Both listeners go either way:
 * a slow reader makes the stream wait many times, and a listener left on 'close' at each wait would
 * pile up on the response for as long as the stream stays open.
 */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/**
 * A page of the feed with the rest of its last position, so that it never ends inside
 * the changes of one position and day (each such group is committed at once).
 */
function wholePositions(feed: ChangeFeed, page: FeedChange[]): FeedChange[] {
  if (page.length < PAGE) return page;
  const last = page[page.length - 1];
  return [...page, ...feed.at(last.position).filter((change) => change.seq > last.seq)];
}
