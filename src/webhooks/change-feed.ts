// The read model's change feed in the order it was written (`seq`), through a
// read-only connection of our own. Followers go by `seq`, not by log position:
// the changes of a new day carry the position of the last event before it, so
// they come after changes of that same position, and only `seq` says so.
// When the read model is swapped for a rebuilt one (a new file), the feed
// follows it; a rebuild of the same projections numbers its changes the same.
import Database from 'better-sqlite3';
import type { EventEmitter } from 'node:events';
import type { Change } from '../../projections/changes.js';
import { laterAtPosition } from '../read-model/change-cursor.js';
import { positionBefore } from '../read-model/fingerprint-history.js';
import { CHANGE_COLUMNS, changeOfRow, type ChangeRow } from '../read-model/rows.js';

export interface FeedChange extends Change {
  seq: number;
}


export class ChangeFeed {
  private file = '';
  private db?: Database.Database;
  private statements?: ReturnType<ChangeFeed['prepare']>;
  private swapped = false;
  /** Goes up each time the feed reopens on a rebuilt read model, whose changes may be numbered differently. */
  generation = 0;

  /**
   * `readModelFile` is asked again at each read, and `readModelEvents` says when a
   * rebuilt read model was swapped in under the same file name.
   */
  constructor(
    private readonly readModelFile: () => string,
    readModelEvents?: EventEmitter,
  ) {
    readModelEvents?.on('swapped', () => (this.swapped = true));
    this.sql();
  }

  private prepare(db: Database.Database) {
    return {
      after: db.prepare<[number, number], ChangeRow>(`SELECT ${CHANGE_COLUMNS} FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`),
      firstAfterPosition: db.prepare<[number], { seq: number }>('SELECT MIN(seq) AS seq FROM changes WHERE position > ?'),
      last: db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM changes'),
      atPosition: db.prepare<[number], ChangeRow>(`SELECT ${CHANGE_COLUMNS} FROM changes WHERE position = ? ORDER BY seq`),
      // The read model records a fingerprint for every event it applied, at the event's position.
      eventBefore: positionBefore(db),
    };
  }

  private sql(): ReturnType<ChangeFeed['prepare']> {
    const file = this.readModelFile();
    if (file !== this.file || !this.statements || this.swapped) {
      if (this.statements) this.generation += 1;
      this.swapped = false;
      this.db?.close();
      this.db = new Database(file, { readonly: true, fileMustExist: true });
      this.statements = this.prepare(this.db);
      this.file = file;
    }
    return this.statements;
  }

  after(seq: number, limit: number): FeedChange[] {
    return this.sql().after.all(seq, limit).map(toFeedChange);
  }

  /** Every change that carries log position `position`, in the order written. */
  at(position: number): FeedChange[] {
    return this.sql().atPosition.all(position).map(toFeedChange);
  }

  /** The log position of the last event the read model applied before `position`, or 0. */
  eventBefore(position: number): number {
    return this.sql().eventBefore(position);
  }

  lastSeq(): number {
    return this.sql().last.get()?.seq ?? 0;
  }

  /**
   * The `seq` to follow from so that the next change is the first after log position
   * `position`, or, given the day that position was read through (a cursor), the first
   * change stamped with it on a later day.
   */
  seqBefore(position: number, day?: string): number {
    if (day !== undefined) {
      const later = this.at(position).find((change) => laterAtPosition({ position, day }, change.recordedAt));
      if (later) return later.seq - 1;
    }
    const first = this.sql().firstAfterPosition.get(position)?.seq;
    return first == null ? this.lastSeq() : first - 1;
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
    this.statements = undefined;
  }
}

/**
 * A change as read, its data parsed only when asked for: the dispatcher decides
 * by type and country, and most changes go to no endpoint, or to none yet.
 */
function toFeedChange(r: ChangeRow): FeedChange {
  let data: Change['data'] | undefined;
  return {
    seq: r.seq,
    id: r.id,
    type: r.type,
    country: r.country,
    position: r.position,
    recordedAt: r.recorded_at,
    get data() {
      return (data ??= changeOfRow(r).data);
    },
  };
}
