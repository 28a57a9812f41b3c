// GET /metrics in the Prometheus text format, and the hook that times every
// request by its route pattern: /v1/countries/:code/position, never
// /v1/countries/US/position, so the number of series stays bounded.
import type { FastifyInstance } from 'fastify';
import type { ReadModel } from '../read-model/read-model.js';
import type { EventStore } from '../store/event-store.js';
import type { Metrics } from './metrics.js';

export interface MetricsDeps {
  metrics: Metrics;
  store: EventStore;
  readModel: ReadModel;
  now: () => Date;
}

export function installMetrics(app: FastifyInstance, deps: MetricsDeps): void {
  const { metrics, store, readModel } = deps;
  metrics.watchLog({
    now: deps.now,
    applied: () => readModel.checkpoint().position,
    async head(applied) {
      const head = await store.headPosition();
      if (head <= applied) return { head };
      const [oldest] = await store.readAll({ after: applied, limit: 1 });
      return { head, oldestUnappliedAt: oldest?.recordedAt };
    },
  });

  app.addHook('onResponse', (request, reply, done) => {
    // Requests that matched no route (404s, scanners) share one label instead of one series per URL.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeRequest({ method: request.method, route, statusCode: reply.statusCode }, reply.elapsedTime / 1000);
    done();
  });

  app.get('/metrics', { schema: { summary: 'Metrics in the Prometheus text format', tags: ['health'] } }, async (_request, reply) => {
    const text = await metrics.text();
    return reply.type(metrics.contentType).send(text);
  });
}
