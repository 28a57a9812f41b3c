// Starts and stops the whole service: store, projections, seed data, HTTP.
// Used by `npm start`, the CLI and the tests, so all three run the same path.
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { DependencyContainer } from 'tsyringe';
import type { KeyRing } from './auth/api-keys.js';
import { compose, Tokens } from './composition.js';
import type { Config } from './config.js';
import { buildApp } from './http/app.js';
import { limitsFrom } from './http/limits.js';
import { checkDataDir } from './operations/data-dir-checks.js';
import type { ProjectionRunner } from './read-model/projection-runner.js';
import type { ReadModel } from './read-model/read-model.js';
import { needsRebuild, rebuildInShadow } from './read-model/shadow-rebuild.js';
import type { ReadModelSwitch } from './read-model/swappable.js';
import { seedOnStart, type Seeding } from './seed/seed-on-start.js';
import type { EventStore } from './store/event-store.js';
import type { WebhookOverrides, Webhooks } from './webhooks/webhooks.js';
import { replayInWorker } from './audit/replay-in-worker.js';
import { webhooksFileIn } from './webhooks/webhooks.js';
import { storeSpec } from './store/open-store.js';
import { describeEndpoint } from './store/kurrentdb/errors.js';

export interface Service {
  app: FastifyInstance;
  container: DependencyContainer;
  keyRing: KeyRing;
  /** What the start-up log line tells an operator: which store, where the data and the admin key are, what seeding did. */
  summary(): StartSummary;
  close(): Promise<void>;
}

export interface StartSummary {
  store: 'sqlite' | 'kurrentdb';
  /** The log: the events.db file, or KurrentDB's hosts (never its credentials). */
  log: string;
  dataDir: string;
  seed: Seeding['outcome'] | 'off (SEED_ON_START=false)';
  /** Where the generated admin key is, when API_KEYS is not set. */
  adminKeyFile?: string;
  /** How many keys API_KEYS gives, when it is set. */
  apiKeys?: number;
}

/** The longest a shutdown waits for requests in flight: a request once received is answered well within it (a write waits up to 5 s for the read model). */
const SHUTDOWN_GRACE_MS = 8_000;

export interface StartOptions {
  webhooks?: WebhookOverrides;
}

export async function startService(config: Config, logger: Logger, now: () => Date = () => new Date(), options: StartOptions = {}): Promise<Service> {
  // Before anything is created or opened: a DATA_DIR that cannot be used stops the start here, untouched.
  const checked = checkDataDir(config);
  logger.info({ dataDir: checked.dir, freeMB: Math.floor(checked.freeBytes / 2 ** 20), deepChecked: checked.deepChecked, headerChecked: checked.headerChecked, ms: Math.round(checked.milliseconds) }, 'DATA_DIR checked');
  if (config.EVENT_STORE === 'sqlite' && config.KURRENTDB_URL) {
    // Most likely EVENT_STORE was forgotten: replicas meant to share one KurrentDB log would each write their own.
    logger.warn({ kurrentdb: describeEndpoint(config.KURRENTDB_URL) }, 'KURRENTDB_URL is set but EVENT_STORE is sqlite: the embedded store in DATA_DIR is used, not KurrentDB');
  }
  const container = compose(config, logger, now, options.webhooks);
  // First: a key file that cannot be used stops the start before the stores are opened.
  const keyRing = container.resolve<KeyRing>(Tokens.KeyRing);
  const store = container.resolve<EventStore>(Tokens.EventStore);
  const readModel = container.resolve<ReadModel>(Tokens.ReadModel);
  const runner = container.resolve<ProjectionRunner>(Tokens.Runner);
  if (keyRing.generatedFile) {
    logger.info({ file: keyRing.generatedFile }, 'API_KEYS is not set: the admin key is in this file');
  }

  runner.start();
  // A changed projection version: rebuild beside the serving read model, then swap.
  const models = container.resolve<ReadModelSwitch>(Tokens.ReadModels);
  const rebuild = needsRebuild(models.current) ? rebuildInShadow(store, models, runner, logger.child({ component: 'projections' })) : undefined;
  const webhooks = container.resolve<Webhooks>(Tokens.Webhooks);
  webhooks.start();
  // Seeds now, or (a remote store that cannot be reached yet) in the background once it answers.
  const seeding = config.SEED_ON_START ? await seedOnStart(store, logger) : undefined;

  const app = await buildApp({
    store,
    readModel,
    runner,
    statements: container.resolve(Tokens.Statements),
    keys: keyRing.keys,
    logger,
    now,
    webhooks,
    metrics: container.resolve(Tokens.Metrics),
    limits: limitsFrom(config),
    trustProxy: config.TRUST_PROXY,
    corsOrigins: config.CORS_ORIGINS,
    replay: () => replayInWorker({ store: storeSpec(config), readModelFile: readModel.file, webhooksFile: webhooksFileIn(config.DATA_DIR) }, config.REPLAY_MEMORY_MB),
  });

  // Every open connection, so a shutdown can tell one still receiving its request from one whose request is being answered.
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  /** Cuts the connections whose request has not fully arrived (or has not begun): nothing of theirs was acted on. */
  const cutUnarrived = () => {
    for (const socket of sockets) {
      // node's own marker of the response in progress on a socket (as its clientError default reads it).
      const response = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
      if (!response?.req?.complete) socket.destroy();
    }
  };

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Stops accepting, lets in-flight requests finish. Once closing, node no longer enforces the
      // request timeout, so a client stalled in the middle of its request would hold the shutdown
      // until its socket idled out (CONNECTION_TIMEOUT_MS, or never for one that trickles): past
      // the time a request may take to arrive, connections still receiving one are cut. A request
      // that has arrived is being acted on (a write may be committed and waiting for the read
      // model): it gets SHUTDOWN_GRACE_MS to be answered, whatever REQUEST_TIMEOUT_MS says.
      const closed = app.close();
      // From then on, checked again and again: a connection answered meanwhile is idle, and goes too.
      let sweeping: NodeJS.Timeout | undefined;
      const unarrived = setTimeout(() => {
        cutUnarrived();
        sweeping = setInterval(cutUnarrived, 100);
      }, Math.min(limitsFrom(config).requestTimeoutMs, SHUTDOWN_GRACE_MS));
      const deadline = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(unarrived);
      clearInterval(sweeping);
      clearTimeout(deadline);
      await webhooks.stop(); // lets deliveries in flight finish; the rest stay pending for the next start
      seeding?.cancel();
      rebuild?.cancel();
      await rebuild?.done;
      await runner.stop();
      await store.close();
      readModel.close();
    })());
  const spec = storeSpec(config);
  const summary = (): StartSummary => ({
    store: spec.kind,
    log: spec.kind === 'sqlite' ? spec.file : describeEndpoint(spec.url),
    dataDir: checked.dir,
    seed: seeding?.outcome ?? 'off (SEED_ON_START=false)',
    ...(keyRing.generatedFile ? { adminKeyFile: keyRing.generatedFile } : { apiKeys: keyRing.keys.length }),
  });
  return { app, container, keyRing, summary, close };
}
