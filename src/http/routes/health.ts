import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppDeps } from '../app.js';

const Readiness = z.object({
  ready: z.boolean(),
  position: z.number().int(),
  head: z.number().int(),
  reason: z.string().optional(),
});

export const healthRoutes = (deps: AppDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/health/live', { schema: { tags: ['health'], response: { 200: z.object({ live: z.literal(true) }) } } }, async () => ({ live: true as const }));

  app.get('/health/ready', {
    schema: { summary: 'Ready once the projections have caught up with the log', tags: ['health'], response: { 200: Readiness, 503: Readiness } },
  }, async (_request, reply) => {
    const store = await deps.store.health();
    if (!store.ok) return reply.code(503).send({ ready: false, position: deps.readModel.checkpoint().position, head: -1, reason: store.reason });
    const status = await deps.runner.status();
    const webhooks = deps.webhooks?.failure();
    const ready = status.caughtUp && webhooks === undefined;
    const reason = status.failure ?? webhooks ?? (status.caughtUp ? undefined : `projections at ${status.position} of ${status.head}`);
    return reply.code(ready ? 200 : 503).send({ ready, position: status.position, head: status.head, ...(reason ? { reason } : {}) });
  });
};
