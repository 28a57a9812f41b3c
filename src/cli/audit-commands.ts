// replay, export and import: the auditor's commands.
import { SingleBar } from 'cli-progress';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { accessSync, constants, createReadStream, createWriteStream, existsSync, mkdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { exportLog, ImportLineError, importLogFile } from '../audit/log-file.js';
import { replayAndCompare, replayTo, type ReplayFingerprint, type ReplayReport } from '../audit/replay.js';
import type { Config } from '../config.js';
import { PROJECTION_VERSION } from '../../projections/versions.js';
import { ReadModel } from '../read-model/read-model.js';
import { Day } from '../../events/vocabulary.js';
import type { EventStore } from '../store/event-store.js';
import { openEventStore, storeSpec } from '../store/open-store.js';
import { webhooksFileIn } from '../webhooks/webhooks.js';

/** Exit code of `replay` when the replay and the live read model differ. */
export const EXIT_DIFFERENCES = 3;
/** Exit code of `replay` when the live read model had not applied the whole log: the comparison covered only part of it. */
export const EXIT_BEHIND = 4;
/** Exit code of `replay` when the live read model was built with other projection versions: nothing can be compared with it. */
export const EXIT_OTHER_VERSIONS = 5;

function progressBar(label: string): SingleBar {
  // On stderr, so stdout stays clean for the report; drawn only on a terminal.
  return new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total}`, stream: process.stderr, hideCursor: true, noTTYOutput: false });
}

/**
 * The audit commands read a log: they must find one, and create nothing, or they would
 * audit an empty log they made themselves and find nothing wrong with it. Only `import`
 * makes a store (and DATA_DIR with it).
 */
function mustHaveStore(config: Config): void {
  const spec = storeSpec(config);
  if (spec.kind === 'sqlite' && !existsSync(spec.file)) {
    throw new Error(`no event store at ${spec.file}: DATA_DIR must be a service's data directory, or one an import has filled`);
  }
}

function mustBeReadable(file: string): void {
  let why: string | undefined;
  try {
    accessSync(file, constants.R_OK);
    if (!statSync(file).isFile()) why = 'not a file';
  } catch (error) {
    why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
  }
  if (why) throw new Error(`cannot read ${file}: ${why}`);
}

/**
 * Makes the embedded store's target for an import (DATA_DIR, owner only as the service
 * makes it) and returns what takes away again what this made, for a refused import: left
 * behind, an empty events.db would be a store to `replay` and `export`, which would then
 * audit the empty log a failure made and find nothing wrong with it (mustHaveStore).
 * A store that was there before is left as it was, as the import left it.
 */
function makeImportTarget(config: Config): () => void {
  const spec = storeSpec(config);
  if (spec.kind !== 'sqlite' || existsSync(spec.file)) return () => {};
  const firstMade = mkdirSync(config.DATA_DIR, { recursive: true, mode: 0o700 });
  return () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${spec.file}${suffix}`, { force: true });
    if (firstMade === undefined) return;
    // Only the directories the import made, and only while empty: anything else put there stays.
    try {
      for (let dir = path.resolve(config.DATA_DIR); ; dir = path.dirname(dir)) {
        rmdirSync(dir);
        if (dir === path.resolve(firstMade)) break;
      }
    } catch {
      // Not empty: something else is there.
    }
  };
}

/** stdout failed under an export: a closed pipe is the reader having what it wanted (`| head`); anything else is an error. */
function stdoutFailed(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') process.exit(0);
  process.stderr.write(`policy-state: ${error.message}\n`);
  process.exit(1);
}

async function withStore<T>(config: Config, work: (store: EventStore) => Promise<T>): Promise<T> {
  const store = openEventStore(storeSpec(config));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function logPosition(value: string): number {
  const position = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(position)) throw new InvalidArgumentError('A log position is a whole number, 0 or more.');
  return position;
}

function day(value: string): string {
  if (!Day.safeParse(value).success) throw new InvalidArgumentError('A day is YYYY-MM-DD.');
  return value;
}

/**
 * The live read model in DATA_DIR, if there is one that has applied any of the log
 * (none is created where there is none), or the versions it was built with when they
 * are not this code's (a replay by this code compares with nothing built by other
 * projections). It is compared, never brought up to date from here: the service may be
 * running on it, with its state in memory, and two writers would corrupt it.
 */
function liveReadModel(dataDir: string): ReadModel | { otherVersions: string } | undefined {
  const file = path.join(dataDir, 'read-model.db');
  if (!existsSync(file)) return undefined;
  const versions = ReadModel.builtWith(file);
  if (versions !== undefined && versions !== PROJECTION_VERSION) return { otherVersions: versions };
  const live = new ReadModel(file);
  if (live.checkpoint(true).position > 0) return live;
  live.close();
  return undefined;
}

const say = (line: string) => process.stderr.write(`replay: ${line}\n`);

/** Says on stderr what the comparison covered; returns the exit code. */
function reportComparison(report: ReplayReport): number {
  const behind = report.position < report.head;
  if (behind) {
    say(
      `the live read model had applied the log up to position ${report.position} of ${report.head}: only that much was compared. ` +
        'If the service is running on DATA_DIR, it is still catching up: run replay again once GET /health/ready answers 200; if not, start it: it brings the read model up to date from its checkpoint. ' +
        `\`policy-state replay --position ${report.head}\` prints the whole log's fingerprint, comparing nothing.`,
    );
  }
  if (report.differences.length > 0) {
    const count = report.differences.length;
    say(`${count} ${count === 1 ? 'difference' : 'differences'} between the live read model and the replay at position ${report.position}`);
    return EXIT_DIFFERENCES;
  }
  if (behind) return EXIT_BEHIND;
  say(`the live read model matches the replay at position ${report.position}, the log's head`);
  return 0;
}

/** Says on stderr that nothing was compared, and how to compare the fingerprint elsewhere. */
function reportFingerprint(report: ReplayFingerprint, why: string): void {
  say(`nothing was compared: ${why}.`);
  if (report.head === 0) say('the log in DATA_DIR is empty.');
  const where = report.position === report.head ? `${report.position} (its head)` : `${report.position} (of ${report.head})`;
  say(`the log up to position ${where} replays to fingerprint ${report.replay.fingerprint}, today ${report.today ?? 'none'}, ${report.projectionVersion}.`);
  say(
    `compare it with GET /v1/audit/fingerprint?position=${report.position} on the service the log came from, which names its today and projectionVersion: ` +
      `if its today is later, run \`policy-state replay --position ${report.position} --today <its today>\`.`,
  );
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
    .summary("rebuild every projection from the log and compare with the live read model; with none, or with --position, print the replay's fingerprint")
    .description(
      `rebuild every projection from the first event, compare with the live read model in DATA_DIR, print the report as JSON; exit ${EXIT_DIFFERENCES} on a difference, ` +
        `${EXIT_BEHIND} when the live read model had not applied the whole log, ${EXIT_OTHER_VERSIONS} when it was built with other projection versions (then nothing is replayed or printed on stdout; stderr says why). Where no read model has applied the log (one just imported), or with --position, ` +
        "compare nothing and print the replay's fingerprint, for GET /v1/audit/fingerprint?position=N on the service the log came from",
    )
    .addOption(new Option('--position <n>', "replay the log up to this position and print the replay's fingerprint there, comparing nothing").argParser(logPosition))
    .addOption(new Option('--today <day>', 'with --position: roll the replay to this day (YYYY-MM-DD), the today the fingerprint to compare with names').argParser(day))
    .action(async (options: { position?: number; today?: string }, command: Command) => {
      if (options.today !== undefined && options.position === undefined) command.error("error: option '--today <day>' needs '--position <n>'");
      const cfg = config();
      mustHaveStore(cfg);
      const found = options.position === undefined ? liveReadModel(cfg.DATA_DIR) : undefined;
      if (found && !(found instanceof ReadModel)) {
        say(
          `the read model in DATA_DIR was built with ${found.otherVersions}; this code's projections are ${PROJECTION_VERSION}: nothing was compared. ` +
            'Start the service (it rebuilds the read model in a shadow and swaps it in), then run replay again; ' +
            "`policy-state replay --position N` prints this code's fingerprint of the log at N, comparing nothing.",
        );
        process.exitCode = EXIT_OTHER_VERSIONS;
        return;
      }
      const live = found;
      const bar = progressBar('replay');
      const onProgress = (done: number, target: number) => bar.update(done, { total: target });
      try {
        if (live) {
          bar.start(live.checkpoint().position, 0);
          const report = await withStore(cfg, (store) => replayAndCompare(store, live, { liveIsAnotherConnection: true, onProgress, webhooksFile: webhooksFileIn(cfg.DATA_DIR) }));
          bar.stop();
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          process.exitCode = reportComparison(report);
        } else {
          bar.start(options.position ?? 0, 0);
          const report = await withStore(cfg, (store) => replayTo(store, { position: options.position, today: options.today, onProgress }));
          bar.stop();
          // null, not []: nothing was compared, so no difference was looked for.
          process.stdout.write(`${JSON.stringify({ ...report, live: null, differences: null }, null, 2)}\n`);
          const why = options.position === undefined ? 'no read model in DATA_DIR has applied the log, so there is nothing here to compare with' : '--position asks for the fingerprint only';
          reportFingerprint(report, why);
          // A read model rolls its day only once an event has given it one, as the service's does.
          if (options.today && report.today === null) say(`the log holds no event up to position ${report.position}, so there is no day to roll: --today changes nothing.`);
        }
      } finally {
        bar.stop();
        live?.close();
      }
    });

  program
    .command('export')
    .description('write the whole event log as JSON lines')
    .requiredOption('--out <file>', 'where to write the log ("-" for stdout)')
    .action(async (options: { out: string }) => {
      const cfg = config();
      mustHaveStore(cfg); // before the output file is created
      const out = options.out === '-' ? process.stdout : createWriteStream(options.out);
      // A reader that has what it wants (`export --out - | head`) closes the pipe: stop, as shell tools do, without an error.
      if (out === process.stdout) process.stdout.on('error', stdoutFailed);
      const count = await withStore(cfg, (store) => exportLog(store, cfg.EVENT_STORE, out));
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
      mustBeReadable(file); // before DATA_DIR and its store are made
      const bar = progressBar('import');
      const undoTarget = makeImportTarget(cfg);
      await withStore(cfg, async (store) => {
        try {
          if (store.atomicImport) bar.start(await countLines(path.resolve(file)), 0);
          else process.stderr.write('import: checking every line before writing any (KurrentDB writes stream by stream)\n');
          const count = await importLogFile(store, path.resolve(file), {
            warn: (message) => process.stderr.write(`import: warning: ${message}\n`),
            onProgress: (written) => bar.update(written),
            onChecked: (events) => bar.start(events, 0),
          });
          bar.stop();
          process.stderr.write(`import: ${count} events imported\n`);
        } catch (error) {
          bar.stop();
          // A bad line is found before anything is written (importLogFile). KurrentDB keeps what it wrote
          // before a failure of its own (the server gone), and running the import again finishes it.
          if (error instanceof ImportLineError) throw new Error(`import stopped, nothing was written: ${error.message}`);
          const why = error instanceof Error ? error.message : String(error);
          if (!store.atomicImport) throw new Error(`import stopped: ${why}. KurrentDB keeps the events written before it; the same import run again passes over them`);
          throw error;
        }
      }).catch((error: unknown) => {
        undoTarget(); // once the store is closed
        throw error;
      });
    });
}
