// `npm start`: the service on the embedded store, listening on HOST:PORT.
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './composition.js';
import { StartupCheckError } from './operations/data-dir-checks.js';
import { startService } from './service.js';
import { loadWebhookSettings } from './webhooks/settings.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
    // The webhook settings are read when the service is composed; checked here so a bad one is said as plainly.
    loadWebhookSettings();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`policy-state: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL);
  let service;
  try {
    service = await startService(config, logger);
    await service.app.listen({ port: config.PORT, host: config.HOST });
  } catch (error) {
    logger.fatal({ err: error }, 'the service could not start');
    if (error instanceof StartupCheckError) {
      // Said plainly on stderr too, like a configuration error: the operator has something to fix.
      process.stderr.write(`policy-state: cannot start: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    await service?.close().catch(() => undefined);
    process.exit(1);
  }
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    service
      .close()
      .then(() => process.exit(0))
      .catch((error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
