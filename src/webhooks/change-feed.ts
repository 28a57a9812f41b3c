// The read model's change feed in the order it was written (`seq`), through a
// read-only connection of our own. Followers go by `seq`, not by log position:
// the changes of a new day carry the position of the last event before it, so
// they come after changes of that same position, and only `seq` says so.
import Database from 'better-sqlite3';
import type { Change } from '../../projections/changes.js';

export interface FeedChange extends Change {
  seq: number;
}

interface ChangeRow {
  seq: number;
  id: string;
  type: Change['type'];
  country: string;
  position: number;
  recorded_at: string;
  data: string;
}

export class ChangeFeed {
  private readonly db: Database.Database;
  private readonly sql;

  constructor(readModelFile: string) {
    this.db = new Database(readModelFile, { readonly: true, fileMustExist: true });
    this.sql = {
      after: this.db.prepare<[number, number], ChangeRow>('SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?'),
      firstAfterPosition: this.db.prepare<[number], { seq: number }>('SELECT MIN(seq) AS seq FROM changes WHERE position > ?'),
      last: this.db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM changes'),
    };
  }

  after(seq: number, limit: number): FeedChange[] {
    return this.sql.after.all(seq, limit).map((r) => ({
      seq: r.seq,
      id: r.id,
      type: r.type,
      country: r.country,
      position: r.position,
      recordedAt: r.recorded_at,
      data: JSON.parse(r.data) as Record<string, unknown>,
    }));
  }

  lastSeq(): number {
    return this.sql.last.get()?.seq ?? 0;
  }

  /** The `seq` to follow from so that the next change is the first after log position `position`. */
  seqBefore(position: number): number {
    const first = this.sql.firstAfterPosition.get(position)?.seq;
    return first == null ? this.lastSeq() : first - 1;
  }

  close(): void {
    this.db.close();
  }
}
