#!/usr/bin/env node
// policy-state: the service's command line. Reads the same configuration
// (environment variables) as the server. Exit codes: 0 success, 1 failure,
// 2 usage error (unknown command or option, bad option value), 78 bad
// configuration; `replay` adds 3, 4 and 5 (audit-commands.ts).
import { Command, CommanderError } from 'commander';
import path from 'node:path';
import { compose, createLogger, Tokens } from '../composition.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { registerAuditCommands } from './audit-commands.js';
import { defaultSeedFile, loadSeeds } from '../seed/load-seeds.js';
import type { EventStore } from '../store/event-store.js';
import { registerKeyCommands } from './keys.js';

// As the service (src/main.ts): what `import` and `seed` create in DATA_DIR, and an export, are the owner's only.
process.umask(0o077);

function config(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`policy-state: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}

const program = new Command()
  .name('policy-state')
  .description("Countries' stated policies on Ukraine's use of supplied weapons against targets in Russia, as an event log.")
  .showHelpAfterError()
  // Throw instead of exiting, so usage errors exit 2 (below); subcommands inherit this.
  .exitOverride();

program
  .command('serve')
  .description('run the HTTP service (the same as npm start)')
  .action(async () => {
    await import('../main.js');
  });

program
  .command('seed')
  .description('load the seed dataset into the configured store; loading twice appends nothing')
  .option('--file <path>', 'seed events file', defaultSeedFile())
  .action(async (options: { file: string }) => {
    const cfg = config();
    const container = compose(cfg, createLogger(cfg.LOG_LEVEL));
    const store = container.resolve<EventStore>(Tokens.EventStore);
    try {
      const result = await loadSeeds(store, path.resolve(options.file));
      process.stdout.write(`seed: ${result.appended} events appended, ${result.alreadyPresent} already in the log\n`);
    } finally {
      await store.close();
    }
  });

registerKeyCommands(program);

registerAuditCommands(program, config);

program.parseAsync().catch((error: unknown) => {
  // Commander has printed the message (and the help): --help exits 0, anything else it rejects is a usage error.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  process.stderr.write(`policy-state: ${error instanceof Error ? error.message : String(error)}\n`);
  // A setting read only when a command opens the store (KURRENTDB_URL) is bad configuration too.
  process.exit(error instanceof ConfigError ? 78 : 1);
});
