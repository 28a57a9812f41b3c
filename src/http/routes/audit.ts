import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { replayAndCompare, type ReplayReport } from '../../audit/replay.js';
import type { AppDeps } from '../app.js';
import type { FeedBounds } from '../feed-bounds.js';
import { requireRole } from '../auth.js';
import { NoFieldsBody, Problem, QueryInteger } from '../schemas.js';

const FingerprintView = z.object({
  position: z.number().int(),
  today: z.string().nullable().describe('the day the read model had rolled to: changes of day up to it are included'),
  fingerprint: z.string().describe('hex; equal fingerprints at the same position mean equal read models'),
  projectionVersion: z.string(),
});

const ReplayView = z.object({
  eventsReplayed: z.number().int(),
  seconds: z.number(),
  eventsPerSecond: z.number(),
  head: z.number().int().describe("the log's head position when the replay began"),
  position: z.number().int().describe("the log position compared at, the live read model's: below `head` when it had not applied the whole log"),
  today: z.string().nullable(),
  projectionVersion: z.string(),
  live: z.object({ fingerprint: z.string() }),
  replay: z.object({ fingerprint: z.string() }),
  differences: z.array(z.string()),
});

export const auditRoutes = (deps: AppDeps, bounds: FeedBounds): FastifyPluginAsyncZod => async (app) => {
  // One replay at a time: each takes a worker with up to REPLAY_MEMORY_MB of heap, so requests
  // that come while one runs wait for it and get its report, rather than starting a worker each.
  let running: Promise<ReplayReport> | undefined;
  const replay = (): Promise<ReplayReport> =>
    (running ??= (deps.replay ? deps.replay() : replayAndCompare(deps.store, deps.readModel)).finally(() => {
      running = undefined;
    }));

  app.get('/v1/audit/fingerprint', {
    schema: {
      summary: "The read model's content fingerprint at a log position",
      tags: ['audit'],
      querystring: z.object({ position: QueryInteger() }).strict(),
      response: { 200: FingerprintView, 400: Problem, 503: Problem },
    },
  }, async (request) => {
    const position = request.query.position;
    if (position !== undefined) await bounds.applied(position, 'querystring.position');
    const recorded = deps.readModel.fingerprintAt(position);
    return { ...recorded, position: position ?? recorded.position, projectionVersion: deps.readModel.builtWith() ?? deps.readModel.version };
  });

  app.post('/v1/admin/replay', {
    preHandler: requireRole(deps.keys, 'admin'),
    schema: {
      summary: 'Rebuild every projection from the first event and compare with the live read model',
      description: 'One replay runs at a time: a request made while one runs waits for it and answers with its report.',
      tags: ['audit'],
      security: [{ bearer: [] }],
      body: NoFieldsBody,
      response: { 200: ReplayView, 400: Problem, 401: Problem, 403: Problem, 503: Problem },
    },
  }, async () => replay());
};
