import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppDeps } from '../app.js';

const Readiness = z.object({
  ready: z.boolean(),
  position: z.number().int(),
  head: z.number().int(),
  reason: z.string().optional(),
  webhooks: z.string().optional().describe('why webhook delivery stopped on this replica, if it did; the API still serves, so this alone does not make it unready'),
});

export const healthRoutes = (deps: AppDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/health/live', { schema: { tags: ['health'], response: { 200: z.object({ live: z.literal(true) }) } } }, async () => ({ live: true as const }));

  app.get('/health/ready', {
    schema: {
      summary: 'Ready once the projections have caught up with the log',
      description:
        'Ready (200) when the store answers and the projections have applied its head; otherwise 503 with the same body and a `reason` (no Retry-After). Webhook delivery that stopped on this replica is named in `webhooks` (and by the gauge policy_state_webhook_dispatch_stopped) without making it unready: reads and writes still work.',
      tags: ['health'],
      response: {
        200: Readiness.describe('Ready'),
        // The readiness document, not a problem: written as the 200 is (openapi.ts would call any 503 a problem with Retry-After).
        503: { description: 'Not ready: the store cannot be reached, or the projections are behind or stopped (`reason` says which)', content: { 'application/json': { schema: Readiness } } },
      },
    },
  }, async (_request, reply) => {
    const store = await deps.store.health();
    if (!store.ok) return reply.code(503).send({ ready: false, position: deps.readModel.checkpoint().position, head: -1, reason: store.reason });
    const status = await deps.runner.status();
    const reason = status.failure ?? (status.caughtUp ? undefined : `projections at ${status.position} of ${status.head}`);
    // Webhooks that stopped are reported, not made a reason to take the replica out of a load
    // balancer: reads and writes still work, and every replica of a cluster shares the cause (a
    // KurrentDB permission, say), so a 503 would take the whole API down with them. The metric
    // policy_state_webhook_dispatch_stopped is the one to alert on.
    const webhooks = deps.webhooks?.failure();
    return reply
      .code(status.caughtUp ? 200 : 503)
      .send({ ready: status.caughtUp, position: status.position, head: status.head, ...(reason ? { reason } : {}), ...(webhooks ? { webhooks } : {}) });
  });
};
