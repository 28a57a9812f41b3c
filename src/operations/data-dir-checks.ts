// Start-up checks of DATA_DIR, before anything is created or opened for
// writing: a directory the service cannot write to, a disk without room, or a
// database file that is not a sound SQLite database stops the start with a
// message that says which and what to do, and leaves the disk as it was.
// Everything here only reads: access(2), statfs(2), and copies of the
// database files (in memory, or in the OS temp dir when a write-ahead log
// has to be recovered).
import Database from 'better-sqlite3';
import { accessSync, constants, copyFileSync, existsSync, mkdtempSync, openSync, readSync, closeSync, readFileSync, rmSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../config.js';

/** sysexits.h: a file the service must create or write cannot be. */
export const EX_CANTCREAT = 73;
/** sysexits.h: the data is not sound. */
export const EX_DATAERR = 65;

export class StartupCheckError extends Error {
  override readonly name = 'StartupCheckError';
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/** Databases up to this size get SQLite's quick_check on a copy; larger ones only the header check, so a big log still starts fast. */
export const DEEP_CHECK_MAX_BYTES = 64 * 1024 * 1024;

interface DatabaseFile {
  name: string;
  /** What to tell the operator when it is not sound. */
  remedy: string;
}

const DATABASES = (config: Config): DatabaseFile[] => [
  ...(config.EVENT_STORE === 'sqlite'
    ? [{ name: 'events.db', remedy: 'it is the event log: restore it from a backup (or an export) before starting again' }]
    : []),
  { name: 'read-model.db', remedy: 'it holds only projections: move it aside and start again to rebuild it from the log' },
  { name: 'webhooks.db', remedy: 'it holds the webhook delivery state: restore it from a backup, or move it aside to start with no pending deliveries' },
];

export interface DataDirReport {
  dir: string;
  freeBytes: number;
  /** Database files given SQLite's quick_check, and those too large for it (header check only). */
  deepChecked: string[];
  headerChecked: string[];
  milliseconds: number;
}

export function checkDataDir(config: Config): DataDirReport {
  const started = performance.now();
  const dir = path.resolve(config.DATA_DIR);
  const existing = nearestExisting(dir);
  if (!statSync(existing).isDirectory()) {
    throw new StartupCheckError(`DATA_DIR ${dir} cannot be used: ${existing} is not a directory`, EX_CANTCREAT);
  }
  const writable = unwritableReason(existing);
  if (writable) {
    const what = existing === dir ? `DATA_DIR ${dir} is not writable` : `DATA_DIR ${dir} does not exist and cannot be created in ${existing}`;
    throw new StartupCheckError(`${what}: ${writable}. The service writes its log, read model and keys there; give it a writable directory.`, EX_CANTCREAT);
  }

  const databases = existing === dir ? DATABASES(config).filter((db) => existsSync(path.join(dir, db.name))) : [];
  for (const db of databases) {
    for (const suffix of ['', '-wal', '-shm']) {
      const file = path.join(dir, `${db.name}${suffix}`);
      const reason = existsSync(file) ? unwritableReason(file) : undefined;
      if (reason) throw new StartupCheckError(`${file} is not writable: ${reason}`, EX_CANTCREAT);
    }
  }

  const { bavail, bsize } = statfsSync(existing);
  const freeBytes = Number(bavail) * Number(bsize);
  const neededBytes = config.MIN_FREE_DISK_MB * 1024 * 1024;
  if (freeBytes < neededBytes) {
    throw new StartupCheckError(
      `DATA_DIR ${dir} has ${megabytes(freeBytes)} MB free; the service needs at least ${megabytes(neededBytes)} MB (MIN_FREE_DISK_MB) to append and checkpoint safely. Free some space or move DATA_DIR.`,
      EX_CANTCREAT,
    );
  }

  const deepChecked: string[] = [];
  const headerChecked: string[] = [];
  for (const db of databases) {
    const file = path.join(dir, db.name);
    const deep = statSync(file).size <= DEEP_CHECK_MAX_BYTES;
    const problem = headerProblem(file) ?? (deep ? quickCheckProblem(file) : undefined);
    if (problem) throw new StartupCheckError(`${file} is not a sound SQLite database (${problem}); ${db.remedy}. Nothing was changed.`, EX_DATAERR);
    (deep ? deepChecked : headerChecked).push(db.name);
  }
  return { dir, freeBytes, deepChecked, headerChecked, milliseconds: performance.now() - started };
}

function nearestExisting(dir: string): string {
  let at = dir;
  while (!existsSync(at)) {
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  return at;
}

/** Why the kernel would refuse a write there, asked without writing. Root passes permission bits, but not a read-only mount or an immutable file. */
function unwritableReason(file: string): string | undefined {
  try {
    accessSync(file, constants.W_OK | (statSync(file).isDirectory() ? constants.X_OK : 0));
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return 'the file system is mounted read-only';
    if (code === 'EACCES') return 'permission denied';
    if (code === 'EPERM') return 'the operation is not permitted (an immutable file or directory?)';
    return (error as Error).message;
  }
}

const megabytes = (bytes: number) => (bytes / (1024 * 1024)).toFixed(bytes < 1024 * 1024 ? 2 : 0);

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** The file header (https://sqlite.org/fileformat.html#the_database_header): magic, page size, and a size that fits them. */
function headerProblem(file: string): string | undefined {
  const size = statSync(file).size;
  if (size === 0) return undefined; // SQLite treats an empty file as an empty database
  if (size < 100) return `${size} bytes, shorter than a database header`;
  const header = Buffer.alloc(100);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (!header.subarray(0, 16).equals(MAGIC)) return 'the file does not start with the SQLite header';
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65_536 : raw;
  if (pageSize < 512 || pageSize > 65_536 || (pageSize & (pageSize - 1)) !== 0) return `page size ${raw} is not valid`;
  if (size % pageSize !== 0) return `its size, ${size} bytes, is not a whole number of ${pageSize}-byte pages`;
  // With a write-ahead log beside it the main file may lag its header until the log is checkpointed.
  const pages = header.readUInt32BE(28);
  const headerSizeValid = header.readUInt32BE(24) === header.readUInt32BE(92);
  if (headerSizeValid && !hasLog(file) && pages * pageSize > size) return `its header counts ${pages} pages but the file holds ${size / pageSize}: it was truncated`;
  return undefined;
}

const hasLog = (file: string) => existsSync(`${file}-wal`) && statSync(`${file}-wal`).size > 0;

/** SQLite's own quick_check, on a copy, so the real file is opened by nothing but the service. */
function quickCheckProblem(file: string): string | undefined {
  if (hasLog(file)) {
    // The log must be applied to see the database as it is: on a copy in the OS temp dir.
    const scratch = mkdtempSync(path.join(tmpdir(), 'policy-state-check-'));
    try {
      copyFileSync(file, path.join(scratch, 'check.db'));
      copyFileSync(`${file}-wal`, path.join(scratch, 'check.db-wal'));
      return quickCheck(() => new Database(path.join(scratch, 'check.db'), { fileMustExist: true }));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const image = readFileSync(file);
  // Bytes 18 and 19 say "WAL mode"; an in-memory copy must be read as a rollback-journal database.
  if (image.length >= 100) image[18] = image[19] = 1;
  return quickCheck(() => new Database(image, { readonly: true }));
}

function quickCheck(open: () => Database.Database): string | undefined {
  let db: Database.Database | undefined;
  try {
    db = open();
    const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
    const failures = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    return failures.length > 0 ? failures.slice(0, 3).join('; ') : undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    db?.close();
  }
}
