// replay, export and import: the auditor's commands.
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { exportLog, ImportLineError, readLogFile } from '../audit/log-file.js';
import { replayAndCompare } from '../audit/replay.js';
import { compose, createLogger, Tokens } from '../composition.js';
import type { Config } from '../config.js';
import { ReadModel } from '../read-model/read-model.js';
import type { EventStore } from '../store/event-store.js';

/** Exit code of `replay` when the replay and the live read model differ. */
export const EXIT_DIFFERENCES = 3;

function progressBar(label: string): SingleBar {
  // On stderr, so stdout stays clean for the report; drawn only on a terminal.
  return new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total}`, stream: process.stderr, hideCursor: true, noTTYOutput: false });
}

async function withStore<T>(config: Config, work: (store: EventStore) => Promise<T>): Promise<T> {
  const store = compose(config, createLogger('silent')).resolve<EventStore>(Tokens.EventStore);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** Lines in a file, for the progress bar's total: a quick pass over the bytes. */
async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file)) {
    for (const byte of chunk as Buffer) if (byte === 10) lines += 1;
  }
  return lines;
}

export function registerAuditCommands(program: Command, config: () => Config): void {
  program
    .command('replay')
    .description(`rebuild every projection from the first event, compare with the live read model, print the report as JSON; exit ${EXIT_DIFFERENCES} on a difference`)
    .action(async () => {
      const cfg = config();
      const live = new ReadModel(path.join(cfg.DATA_DIR, 'read-model.db'));
      const bar = progressBar('replay');
      try {
        const report = await withStore(cfg, (store) => {
          bar.start(live.checkpoint().position, 0);
          return replayAndCompare(store, live, { liveIsAnotherConnection: true, onProgress: (done, target) => bar.update(done, { total: target }) });
        });
        bar.stop();
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        if (report.differences.length > 0) process.exitCode = EXIT_DIFFERENCES;
      } finally {
        bar.stop();
        live.close();
      }
    });

  program
    .command('export')
    .description('write the whole event log as JSON lines')
    .requiredOption('--out <file>', 'where to write the log ("-" for stdout)')
    .action(async (options: { out: string }) => {
      const cfg = config();
      const out = options.out === '-' ? process.stdout : createWriteStream(options.out);
      const count = await withStore(cfg, (store) => exportLog(store, out));
      if (out !== process.stdout) {
        out.end();
        await finished(out);
      }
      process.stderr.write(`export: ${count} events written\n`);
    });

  program
    .command('import')
    .description('copy a JSON-lines log into the configured, empty store; all or nothing, stopping at the first invalid line')
    .argument('<file>', 'a log written by export')
    .action(async (file: string) => {
      const cfg = config();
      const bar = progressBar('import');
      await withStore(cfg, async (store) => {
        try {
          bar.start(await countLines(path.resolve(file)), 0);
          const count = await store.importEvents(readLogFile(path.resolve(file)), (written) => bar.update(written));
          bar.stop();
          process.stderr.write(`import: ${count} events imported\n`);
        } catch (error) {
          bar.stop();
          // The embedded store writes nothing of a failed import; KurrentDB keeps what it wrote, and a re-run finishes it.
          const kept = cfg.EVENT_STORE === 'sqlite' ? 'nothing was written' : 'run the import again to finish it';
          if (error instanceof ImportLineError) throw new Error(`import stopped, ${kept}: ${error.message}`);
          throw error;
        }
      });
    });
}
