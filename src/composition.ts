// The composition root: the only place that knows how the object graph is
// built. tsyringe holds the factories; domain code and projections never see
// the container.
import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sonicBoom from 'sonic-boom';
import { pino, type Logger } from 'pino';
import { container, instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { loadKeyRing, type KeyRing } from './auth/api-keys.js';
import type { Config } from './config.js';
import { Metrics } from './metrics/metrics.js';
import { ProjectionRunner } from './read-model/projection-runner.js';
import { ReadModel } from './read-model/read-model.js';
import { ReadModelSwitch } from './read-model/swappable.js';
import { StatementService } from './statements/statement-service.js';
import type { EventStore } from './store/event-store.js';
import { KurrentDbEventStore } from './store/kurrentdb-event-store.js';
import { openEventStore, storeSpec } from './store/open-store.js';
import { loadWebhookSettings } from './webhooks/settings.js';
import { WEBHOOK_DISPATCH_GROUP } from './webhooks/persistent-dispatch.js';
import { Webhooks, type WebhookOverrides } from './webhooks/webhooks.js';

export const Tokens = {
  Config: Symbol('Config'),
  Logger: Symbol('Logger'),
  Clock: Symbol('Clock'),
  EventStore: Symbol('EventStore'),
  ReadModel: Symbol('ReadModel'),
  ReadModels: Symbol('ReadModelSwitch'),
  Runner: Symbol('ProjectionRunner'),
  Statements: Symbol('StatementService'),
  KeyRing: Symbol('KeyRing'),
  Webhooks: Symbol('Webhooks'),
  Metrics: Symbol('Metrics'),
} as const;

// sonic-boom is CommonJS (module.exports is the class) with types written as an ES module's, which
// make the default import a namespace: it is the class.
const SonicBoom = sonicBoom as unknown as typeof import('sonic-boom').SonicBoom;
type SonicBoomStream = import('sonic-boom').SonicBoom;

/**
 * Where log lines go: stdout, written asynchronously, through sonic-boom 5 rather than the 4.x
 * pino builds itself. Behind a log reader that falls behind (a full pipe: EAGAIN), 4.x dropped
 * whole writes of lines; 5 keeps them until they are written. Lines still buffered when the
 * process exits (a crash's fatal line) are written then, synchronously; a planned exit waits
 * for them instead (main.ts, logWritten).
 */
function stdoutLog(): SonicBoomStream {
  const stream = new SonicBoom({ fd: process.stdout.fd ?? 1 });
  process.once('exit', () => {
    try {
      stream.flushSync();
    } catch {
      // Nothing left to write, or no stdout to write it to: nothing more can be done at exit.
    }
  });
  return stream;
}

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      // Secrets never reach a log line, even when a header or a key is logged by mistake.
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'secret', '*.secret', 'apiKey.secret'],
        censor: '[redacted]',
      },
    },
    stdoutLog(),
  );
}

export function compose(
  config: Config,
  logger: Logger,
  now: () => Date = () => new Date(),
  webhooks: WebhookOverrides = {},
): DependencyContainer {
  // Owner only: the log, the webhook URLs and delivery bodies in it are nobody else's on the machine to read.
  mkdirSync(config.DATA_DIR, { recursive: true, mode: 0o700 });
  const c = container.createChildContainer();
  c.register(Tokens.Config, { useValue: config });
  c.register(Tokens.Logger, { useValue: logger });
  c.register(Tokens.Clock, { useValue: now });
  c.register<Metrics>(Tokens.Metrics, { useFactory: instanceCachingFactory(() => new Metrics()) });
  c.register<EventStore>(Tokens.EventStore, {
    useFactory: instanceCachingFactory<EventStore>(() => openEventStore(storeSpec(config), logger)),
  });
  c.register<ReadModelSwitch>(Tokens.ReadModels, {
    useFactory: instanceCachingFactory(() => new ReadModelSwitch(new ReadModel(path.join(config.DATA_DIR, 'read-model.db')))),
  });
  // Everyone gets the switch's view, so a rebuilt read model replaces the old one for all readers at once.
  c.register<ReadModel>(Tokens.ReadModel, {
    useFactory: instanceCachingFactory((d) => d.resolve<ReadModelSwitch>(Tokens.ReadModels).view()),
  });
  c.register<ProjectionRunner>(Tokens.Runner, {
    useFactory: instanceCachingFactory(
      (d) => new ProjectionRunner(d.resolve(Tokens.EventStore), d.resolve(Tokens.ReadModel), logger.child({ component: 'projections' }), now),
    ),
  });
  c.register<StatementService>(Tokens.Statements, {
    useFactory: instanceCachingFactory(
      (d) => new StatementService(d.resolve(Tokens.EventStore), d.resolve(Tokens.ReadModel), d.resolve(Tokens.Runner), () => now().getTime()),
    ),
  });
  c.register<KeyRing>(Tokens.KeyRing, { useFactory: instanceCachingFactory(() => loadKeyRing(config.API_KEYS, config.DATA_DIR)) });
  c.register<Webhooks>(Tokens.Webhooks, {
    useFactory: instanceCachingFactory(
      (d) =>
        new Webhooks({
          store: d.resolve(Tokens.EventStore),
          readModel: d.resolve(Tokens.ReadModel),
          settings: loadWebhookSettings(process.env, webhooks.settings),
          allowedHosts: config.WEBHOOK_ALLOWED_HOSTS,
          dataDir: config.DATA_DIR,
          logger: logger.child({ component: 'webhooks' }),
          now: () => now().getTime(),
          resolve: webhooks.resolve,
          metrics: d.resolve(Tokens.Metrics),
          // Replicas on KurrentDB share dispatch through a persistent subscription; the embedded store follows its change feed.
          dispatchGroup: (() => {
            const store = d.resolve<EventStore>(Tokens.EventStore);
            return store instanceof KurrentDbEventStore ? store.consumerGroup(WEBHOOK_DISPATCH_GROUP) : undefined;
          })(),
        }),
    ),
  });
  return c;
}
