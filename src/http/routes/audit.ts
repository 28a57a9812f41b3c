import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { replayAndCompare } from '../../audit/replay.js';
import type { AppDeps } from '../app.js';
import { requireRole } from '../auth.js';
import { badRequest } from '../problems.js';
import { Problem, QueryInteger } from '../schemas.js';

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

export const auditRoutes = (deps: AppDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/v1/audit/fingerprint', {
    schema: {
      summary: "The read model's content fingerprint at a log position",
      tags: ['audit'],
      querystring: z.object({ position: QueryInteger() }).strict(),
      response: { 200: FingerprintView, 400: Problem },
    },
  }, async (request) => {
    const checkpoint = deps.readModel.checkpoint().position;
    const position = request.query.position;
    if (position !== undefined && position > checkpoint) {
      throw badRequest(`the read model has applied the log up to position ${checkpoint}`, [{ path: 'querystring.position', message: `must be at most ${checkpoint}` }]);
    }
    const recorded = deps.readModel.fingerprintAt(position);
    return { ...recorded, position: position ?? recorded.position, projectionVersion: deps.readModel.builtWith() ?? deps.readModel.version };
  });

  app.post('/v1/admin/replay', {
    preHandler: requireRole(deps.keys, 'admin'),
    schema: {
      summary: 'Rebuild every projection from the first event and compare with the live read model',
      tags: ['audit'],
      security: [{ bearer: [] }],
      response: { 200: ReplayView, 401: Problem, 403: Problem, 503: Problem },
    },
  }, async () => (deps.replay ? deps.replay() : replayAndCompare(deps.store, deps.readModel)));
};
