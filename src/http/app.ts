// The app is not the server: buildApp returns a fastify instance that tests
// drive with inject(); only src/main.ts listens.
import fastifyAccepts from '@fastify/accepts';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ApiKey } from '../config.js';
import { installMetrics } from '../metrics/http.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ProjectionRunner } from '../read-model/projection-runner.js';
import type { ReadModel } from '../read-model/read-model.js';
import type { StatementService } from '../statements/statement-service.js';
import type { EventStore } from '../store/event-store.js';
import { registerPage } from '../ui/page.js';
import { changeStreamRoutes } from '../webhooks/http/change-stream.js';
import { webhookRoutes } from '../webhooks/http/routes.js';
import type { Webhooks } from '../webhooks/webhooks.js';
import { checkKeysFirst } from './auth.js';
import { installErrorHandling } from './error-handler.js';
import { installCors, type CorsOrigins } from './cors.js';
import { openApiDocument, openApiTransform } from './openapi.js';
import { serializerCompiler } from './serializer.js';
import { DEFAULT_LIMITS, installRateLimits, serverOptions, type Limits } from './limits.js';
import { RequestLog } from './request-log.js';
import { installSecurityHeaders } from './security-headers.js';
import { clientErrorHandler, expectationFailed, frameworkErrors, installStrictInput } from './strict-input.js';
import type { ReplayReport } from '../audit/replay.js';
import { auditRoutes } from './routes/audit.js';
import { countryRoutes } from './routes/countries.js';
import { feedRoutes } from './routes/feeds.js';
import { feedBounds } from './feed-bounds.js';
import { healthRoutes } from './routes/health.js';
import { statementRoutes } from './routes/statements.js';

export interface AppDeps {
  store: EventStore;
  readModel: ReadModel;
  runner: ProjectionRunner;
  statements: StatementService;
  keys: ApiKey[];
  logger: Logger;
  now: () => Date;
  /** Change webhooks; their routes are registered when present. */
  webhooks?: Webhooks;
  /** Replay and compare; in the service, in a worker thread with its own memory limit. */
  replay?: () => Promise<ReplayReport>;
  metrics: Metrics;
  /** Rate limits and timeouts; generous defaults when absent. */
  limits?: Limits;
  /** The proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (TRUST_PROXY); none when absent. */
  trustProxy?: boolean | number | string[];
  /** Web origins whose pages may read the API (CORS_ORIGINS); none when absent. */
  corsOrigins?: CorsOrigins;
}

/** Trusts the first `hops` proxies, counting back from the socket's peer. */
const hopsOf = (hops: number) => (_address: string, hop: number) => hop < hops;

export const BODY_LIMIT_BYTES = 1024 * 1024;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const server = serverOptions(deps.limits ?? DEFAULT_LIMITS);
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    ...server,
    frameworkErrors,
    clientErrorHandler,
    // Behind a proxy this makes request.ip the client's (for the per-address rate limit) and
    // request.protocol the scheme it used (HSTS is sent only over https).
    // (A hop count as the function Fastify makes of it: its types do not take the number.)
    trustProxy: typeof deps.trustProxy === 'number' ? hopsOf(deps.trustProxy) : (deps.trustProxy ?? false),
    requestIdHeader: 'x-request-id',
    // One access-log line per request (request-log.ts).
    logController: new RequestLog(),
    // Only ids a log reader can trust: a client's x-request-id is kept if it is short and plain.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Callback hooks, not async ones, on every request: no promise per hook.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  installErrorHandling(app, server.routerOptions);
  installMetrics(app, deps);
  // JSON only: any other body type is a 415, not a string handed to the handlers.
  app.removeContentTypeParser('text/plain');
  // Before any route: headers, rate limits, strict input, and key checks ahead of the body (issue 7).
  installSecurityHeaders(app);
  await installCors(app, deps.corsOrigins ?? []);
  await installRateLimits(app, deps.keys, deps.limits ?? DEFAULT_LIMITS);
  installStrictInput(app);
  app.server.on('checkExpectation', expectationFailed.bind(app));
  checkKeysFirst(app);

  // Content negotiation (Accept, with q-values and wildcards) for the routes that answer in more than one type.
  await app.register(fastifyAccepts);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Policy-state service',
        version: '1.0.0',
        description:
          "What each country has said about Ukraine's use of the weapons it supplied against targets on Russian territory, and the position that follows, for any date, with the evidence.",
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: openApiTransform,
    transformObject: openApiDocument,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await registerPage(app);
  await app.register(healthRoutes(deps));
  // Where a reader may start, checked the same way on the pages and on the stream, and which log positions can be answered as of.
  const bounds = feedBounds(deps.store, deps.readModel, deps.now);
  await app.register(countryRoutes(deps, bounds));
  await app.register(statementRoutes(deps, bounds));
  await app.register(feedRoutes(deps, bounds));
  await app.register(changeStreamRoutes(deps.readModel, bounds, { streamsPerAddress: (deps.limits ?? DEFAULT_LIMITS).streamsPerAddress }));
  // A webhook replay starts from a feed cursor too.
  if (deps.webhooks) await app.register(webhookRoutes(deps.webhooks, deps.keys, bounds, deps.store));
  await app.register(auditRoutes(deps, bounds));
  return app;
}
