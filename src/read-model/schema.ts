// The read model's tables. Everything here can be rebuilt from the log; the
// checkpoint row says how far the log has been applied, and it is written in
// the same transaction as the rows it covers.
export const READ_MODEL_SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoint (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  position INTEGER NOT NULL,
  -- The day the projections last rolled forward to (changes of day are emitted up to it).
  today    TEXT
);
INSERT OR IGNORE INTO checkpoint (id, position, today) VALUES (1, 0, NULL);

CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- A statement's row is keyed by the log position that recorded it (the rowid), so
-- rows are appended in log order and pages in that order need no index.
CREATE TABLE IF NOT EXISTS statements (
  position     INTEGER PRIMARY KEY,
  statement_id TEXT NOT NULL UNIQUE,
  country      TEXT NOT NULL,
  effective_at TEXT NOT NULL,
  record       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS statements_by_country ON statements (country, position);
-- A revision that reaches back further than the statements kept in memory reads them by day.
CREATE INDEX IF NOT EXISTS statements_by_country_and_day ON statements (country, effective_at, position);

CREATE TABLE IF NOT EXISTS countries (
  code       TEXT PRIMARY KEY,
  revision   INTEGER NOT NULL,
  position   INTEGER NOT NULL,
  current    TEXT NOT NULL,
  -- The start of the interval in force today; the timeline itself is derived when asked for.
  since      TEXT,
  statements INTEGER NOT NULL DEFAULT 0,
  -- The next day on which a statement already on record changes the position, if any:
  -- only those countries are looked at when the day changes.
  next_change TEXT
);

-- A change's id is unique by construction (its event's log position, its type and
-- country, or its day) and nothing looks a change up by it, so it has no index.
CREATE TABLE IF NOT EXISTS changes (
  seq         INTEGER PRIMARY KEY,
  id          TEXT NOT NULL,
  type        TEXT NOT NULL,
  country     TEXT NOT NULL,
  position    INTEGER NOT NULL,
  recorded_at TEXT NOT NULL,
  data        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_position ON changes (position, seq);

-- The content fingerprint after each log position applied, and the day it had rolled to:
-- a row per run of positions applied in one batch with the same day (fingerprint-history.ts),
-- keyed by its first position (the rowid: no index to write on every apply).
CREATE TABLE IF NOT EXISTS fingerprint_runs (
  first_position INTEGER PRIMARY KEY,
  today          TEXT,
  -- 8 bytes a position (a little-endian double), in the order applied.
  positions      BLOB NOT NULL,
  -- 16 bytes a fingerprint (big-endian), the fingerprint after the position at the same index.
  fingerprints   BLOB NOT NULL
);
`;

/**
 * Brings a read model written by an earlier version to the current tables, so
 * it can keep serving while its replacement is rebuilt. (countries once kept
 * the whole timeline in every row.)
 */
export const READ_MODEL_MIGRATIONS: Array<{ applies: (columns: Map<string, string[]>) => boolean; sql: string }> = [
  { applies: (c) => (c.get('countries') ?? []).includes('timeline'), sql: 'ALTER TABLE countries DROP COLUMN timeline' },
  { applies: (c) => !(c.get('countries') ?? []).includes('since'), sql: 'ALTER TABLE countries ADD COLUMN since TEXT' },
  { applies: (c) => !(c.get('countries') ?? []).includes('statements'), sql: 'ALTER TABLE countries ADD COLUMN statements INTEGER NOT NULL DEFAULT 0' },
  { applies: (c) => !(c.get('countries') ?? []).includes('next_change'), sql: 'ALTER TABLE countries ADD COLUMN next_change TEXT' },
  { applies: () => true, sql: 'CREATE INDEX IF NOT EXISTS countries_by_next_change ON countries (next_change) WHERE next_change IS NOT NULL' },
];
