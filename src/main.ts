// `npm start`: the service on the embedded store, listening on HOST:PORT.
import { createServer } from 'node:net';
import type { Logger } from 'pino';
import { ConfigError, ConfigSchema, loadConfig, unreadSettings } from './config.js';
import { createLogger } from './composition.js';
import { StartupCheckError } from './operations/data-dir-checks.js';
import { startService } from './service.js';
import { loadWebhookSettings, WebhookEnvSchema } from './webhooks/settings.js';

// Every file the service creates is its owner's only: the databases (whose -wal and -shm files
// SQLite creates with the database's mode), the keys. DATA_DIR is made 0700 when the service
// creates it, but one that already exists (a Docker volume, a directory made by hand) may let
// others in, and webhooks.db and the log hold webhook URLs, which often carry a token.
process.umask(0o077);

/** EX_CONFIG (sysexits.h): a setting is wrong; the operator has something to fix. */
const EX_CONFIG = 78;

/** Says plainly on stderr why the start stopped, as a configuration error is, and exits. */
function refuse(message: string, exitCode: number): never {
  process.stderr.write(`policy-state: ${message}\n`);
  process.exit(exitCode);
}

/**
 * Once the log's lines so far are written. pino writes asynchronously, and process.exit drops a
 * write still in flight: the last line ("stopped", or why the start failed) went missing under
 * load. A stdout nobody reads any more must not hold the exit up: two seconds at most.
 */
function logWritten(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2_000);
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function cannotListen(config: { HOST: string; PORT: number }, error: unknown): string {
  return `cannot listen on HOST=${config.HOST} PORT=${config.PORT}: ${(error as Error).message}`;
}

/** Listens on host:port and closes at once; rejects as the service's own listen would. */
function canListen(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
    // The webhook settings are read when the service is composed; checked here so a bad one is said as plainly.
    loadWebhookSettings();
  } catch (error) {
    if (error instanceof ConfigError) refuse(error.message, EX_CONFIG);
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL);
  // A misspelt setting (WEBHOOK_ALLOWED_HOST) would otherwise be ignored without a word, its default used.
  const unread = unreadSettings(process.env, [...Object.keys(ConfigSchema.shape), ...Object.keys(WebhookEnvSchema.shape)]);
  if (unread.length > 0) logger.warn({ unread }, `not settings this service reads, so they change nothing (misspelt?): ${unread.join(', ')}`);
  // A crash is logged with the rest, as JSON with its stack: node's own report goes to stderr only,
  // which a log shipper reading stdout never sees. A monitor, so node still exits as it would.
  process.on('uncaughtExceptionMonitor', (error, origin) => logger.fatal({ err: error, origin }, 'crashing on an uncaught exception'));
  // Whether HOST:PORT can be listened on is asked before anything is written to DATA_DIR: a start
  // that cannot listen (PORT in use, HOST not this machine's) leaves no seeded log or new key behind.
  try {
    await canListen(config.HOST, config.PORT);
  } catch (error) {
    refuse(cannotListen(config, error), EX_CONFIG);
  }
  let service;
  try {
    service = await startService(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'the service could not start');
    await logWritten(logger);
    if (error instanceof StartupCheckError) refuse(`cannot start: ${error.message}`, error.exitCode);
    // Settings only read while composing (KURRENTDB_URL, the admin key file) are refused as the others are.
    if (error instanceof ConfigError) refuse(error.message, EX_CONFIG);
    process.exit(1);
  }
  let address;
  try {
    address = await service.app.listen({ port: config.PORT, host: config.HOST });
  } catch (error) {
    // A HOST that does not resolve or is not this machine's, a PORT in use or privileged: name them,
    // rather than leave a bare "getaddrinfo ENOTFOUND" in the JSON log.
    // Free a moment ago (canListen), taken since: as rare as a race.
    logger.fatal({ err: error }, 'the service could not listen');
    await service.close().catch(() => undefined);
    await logWritten(logger);
    refuse(cannotListen(config, error), EX_CONFIG);
  }
  // One line that says what is running where: the address, the store, DATA_DIR, what seeding did, where the admin key is.
  logger.info({ address, ...service.summary(), logLevel: config.LOG_LEVEL }, 'policy-state is serving');
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const started = performance.now();
    service
      .close()
      .then(() => {
        // The last line: the shutdown finished (a log that ends at "shutting down" may mean it hung or was killed).
        logger.info({ signal, ms: Math.round(performance.now() - started) }, 'stopped');
        return 0;
      })
      .catch((error) => {
        logger.error({ err: error }, 'shutdown failed');
        return 1;
      })
      .then(async (code) => {
        await logWritten(logger);
        process.exit(code);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
