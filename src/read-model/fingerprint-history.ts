// The content fingerprint after every log position the read model applied, and
// the day it had rolled to. A row per event cost an insert and a hex string per
// event; instead a row holds a run of positions applied in one batch with the
// same day, as two BLOBs: the positions (8 bytes each, a little-endian double:
// log positions are safe integers) and the fingerprint after each (16 bytes,
// big-endian, so its bytes in hex are the fingerprint as the API shows it).
// Runs follow one another in log order, keyed by their first position. A day
// rolled with no event (advanceTo) records a run of one at the last position
// again: the latest record of a position is what held after it. That run either
// starts after the run that holds the position already, or replaces it (a run
// of that one position): no two runs start at the same position. The table is
// in schema.ts.
import type Database from 'better-sqlite3';

const POSITION_BYTES = 8;
const FINGERPRINT_BYTES = 16;
/** A read of one position reads its whole run (24 bytes a position): a batch's are cut into runs of at most this many. */
export const LONGEST_RUN = 1_000;

/** A run that starts where another did replaces it: the other was a run of that one position, recorded earlier. */
const RECORD_RUN = 'INSERT OR REPLACE INTO fingerprint_runs (first_position, today, positions, fingerprints) VALUES (?, ?, ?, ?)';

/** The fingerprint (hex) after a log position, and the day the read model had rolled to then. */
export interface Fingerprint {
  position: number;
  today: string | null;
  fingerprint: string;
}

interface RunRow {
  today: string | null;
  positions: Buffer;
  fingerprints: Buffer;
}

/** The run's `index`th position. */
const positionAt = (positions: Buffer, index: number) => positions.readDoubleLE(index * POSITION_BYTES);

/**
 * The index of the last position in a run at or before `position` (before it,
 * if `strictly`), or -1 if there is none. Positions in a run only grow.
 */
export function lastIndexUpTo(positions: Buffer, position: number, strictly = false): number {
  let low = 0;
  let high = positions.length / POSITION_BYTES; // the answer is below `high`
  while (low < high) {
    const middle = (low + high) >>> 1;
    const at = positionAt(positions, middle);
    if (strictly ? at < position : at <= position) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/**
 * The greatest log position applied before `position`, or 0, read from a read model's
 * file (another connection's: the change feed's). One run holds it: the last that
 * starts before `position`.
 */
export function positionBefore(db: Database.Database): (position: number) => number {
  const run = db.prepare<[number], { positions: Buffer }>('SELECT positions FROM fingerprint_runs WHERE first_position < ? ORDER BY first_position DESC LIMIT 1');
  return (position) => {
    const positions = run.get(position)?.positions;
    if (!positions) return 0;
    return positionAt(positions, lastIndexUpTo(positions, position, true));
  };
}

/** The runs of one batch, written when it ends (inside its transaction). */
export class FingerprintRunWriter {
  private today: string | null = null;
  private positions: number[] = [];
  private fingerprints: bigint[] = [];

  constructor(private readonly insert: Database.Statement<[number, string | null, Buffer, Buffer]>) {}

  /** The fingerprint (its 128-bit value) after log position `position`, with the day rolled to then. */
  record(position: number, today: string | null, fingerprint: bigint): void {
    if (this.positions.length > 0 && (today !== this.today || this.positions.length === LONGEST_RUN)) this.flush();
    this.today = today;
    this.positions.push(position);
    this.fingerprints.push(fingerprint);
  }

  /** Writes the run recorded so far, if any. */
  flush(): void {
    const count = this.positions.length;
    if (count === 0) return;
    const positions = Buffer.allocUnsafe(count * POSITION_BYTES);
    const fingerprints = Buffer.allocUnsafe(count * FINGERPRINT_BYTES);
    // A DataView's setBigUint64 keeps the low 64 bits itself: one BigInt operation a fingerprint, not Buffer's checked dozen.
    const view = new DataView(fingerprints.buffer, fingerprints.byteOffset, fingerprints.length);
    for (let i = 0; i < count; i++) {
      positions.writeDoubleLE(this.positions[i], i * POSITION_BYTES);
      const value = this.fingerprints[i];
      view.setBigUint64(i * FINGERPRINT_BYTES, value >> 64n);
      view.setBigUint64(i * FINGERPRINT_BYTES + 8, value);
    }
    this.insert.run(this.positions[0], this.today, positions, fingerprints);
    this.positions = [];
    this.fingerprints = [];
  }
}

/** The fingerprint history of one read model, through its own connection. */
export class FingerprintHistory {
  private readonly sql;

  constructor(db: Database.Database) {
    this.sql = {
      insert: db.prepare<[number, string | null, Buffer, Buffer]>(RECORD_RUN),
      runAt: db.prepare<[number], RunRow>('SELECT today, positions, fingerprints FROM fingerprint_runs WHERE first_position <= ? ORDER BY first_position DESC LIMIT 1'),
    };
    migrateRowPerPosition(db, this.writer());
  }

  /** A writer for the runs of one batch; what it has not flushed is dropped with it. */
  writer(): FingerprintRunWriter {
    return new FingerprintRunWriter(this.sql.insert);
  }

  /** Records the fingerprint after one position on its own (a day rolled with no event). */
  record(position: number, today: string | null, fingerprint: bigint): void {
    const writer = this.writer();
    writer.record(position, today, fingerprint);
    writer.flush();
  }

  /** The fingerprint after log position `position` (the latest recorded at the last position at or before it), if any was recorded. */
  at(position: number): Fingerprint | undefined {
    const run = this.sql.runAt.get(position);
    if (!run) return undefined;
    const index = lastIndexUpTo(run.positions, position);
    const offset = index * FINGERPRINT_BYTES;
    return { position: positionAt(run.positions, index), today: run.today, fingerprint: run.fingerprints.toString('hex', offset, offset + FINGERPRINT_BYTES) };
  }
}

/**
 * A read model built before runs kept a row per position (`fingerprints`): its rows
 * become runs, so it keeps answering while its replacement is rebuilt.
 */
function migrateRowPerPosition(db: Database.Database, writer: FingerprintRunWriter): void {
  const legacy = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'fingerprints'").get();
  if (!legacy) return;
  // A page at a time: the connection cannot write while it iterates.
  const page = db.prepare<[number], { position: number; today: string | null; hash: string }>('SELECT position, today, hash FROM fingerprints WHERE position > ? ORDER BY position LIMIT 5000');
  db.transaction(() => {
    for (let rows = page.all(0); rows.length > 0; rows = page.all(rows[rows.length - 1].position)) {
      for (const row of rows) writer.record(row.position, row.today, BigInt(`0x${row.hash}`));
    }
    writer.flush();
    db.exec('DROP TABLE fingerprints');
  })();
}
