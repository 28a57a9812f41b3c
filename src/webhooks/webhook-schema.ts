// webhooks.db's tables: the endpoint projection, the delivery queue and its log.
// webhook-db.ts reads and writes them.
export const WEBHOOK_DB_SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoints (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
-- 'endpoints': log position applied; 'dispatch_seq' / 'dispatch_position': the last change dispatched.
INSERT OR IGNORE INTO checkpoints (name, value) VALUES ('endpoints', 0), ('dispatch_seq', 0), ('dispatch_position', 0);

CREATE TABLE IF NOT EXISTS endpoints (
  id    TEXT PRIMARY KEY,
  state TEXT NOT NULL
);

-- Every state an endpoint has had, by the log position of the event that made it: a change is
-- numbered and dispatched by the endpoint as it was at the change's position, however far the
-- endpoint projection has gone meanwhile, so every replica decides the same.
CREATE TABLE IF NOT EXISTS endpoint_versions (
  endpoint_id TEXT    NOT NULL,
  position    INTEGER NOT NULL,
  state       TEXT    NOT NULL,
  PRIMARY KEY (endpoint_id, position)
);

CREATE TABLE IF NOT EXISTS endpoint_status (
  endpoint_id     TEXT PRIMARY KEY,
  last_sequence   INTEGER NOT NULL DEFAULT 0,
  failing_since   INTEGER,
  last_success_at INTEGER,
  -- The start of the latest failed attempt, and of the first failed attempt after the latest spell
  -- with no attempt long enough to say nothing of failing (retry-policy.ts, quietSpellMs).
  last_failure_at    INTEGER,
  failing_resumed_at INTEGER
);

-- A change's body is stored once for every endpoint: up to its sequence number (payload.ts).
CREATE TABLE IF NOT EXISTS payloads (
  message_id TEXT PRIMARY KEY,
  body       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS deliveries (
  n               INTEGER PRIMARY KEY, -- shown as the delivery id, see deliveryId()
  endpoint_id     TEXT    NOT NULL,
  origin          TEXT    NOT NULL CHECK (origin IN ('live', 'replay', 'test')),
  message_id      TEXT    NOT NULL REFERENCES payloads (message_id),
  type            TEXT    NOT NULL,
  position        INTEGER,
  sequence        INTEGER,
  status          TEXT    NOT NULL CHECK (status IN ('pending', 'sending', 'succeeded', 'failed', 'cancelled')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  step            INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
-- A change goes live to an endpoint once, whatever happens to the checkpoints.
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_live_once ON deliveries (endpoint_id, message_id) WHERE origin = 'live';
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_by_endpoint ON deliveries (endpoint_id, n);

-- KurrentDB replicas only (persistent-dispatch.ts). Every replica numbers every change for
-- every endpoint, so sequence numbers are the same whichever replica sends; a change waits
-- here, on standby, until the persistent subscription group hands its log event to this
-- replica (or this replica takes it over from a dead one), when it becomes a delivery.
CREATE TABLE IF NOT EXISTS standby (
  endpoint_id TEXT    NOT NULL,
  message_id  TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  position    INTEGER NOT NULL,
  sequence    INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (endpoint_id, message_id)
);
CREATE INDEX IF NOT EXISTS standby_by_message ON standby (message_id);
-- Log events this replica claimed in its dispatch journal and has not yet recorded as settled.
CREATE TABLE IF NOT EXISTS claims (
  position    INTEGER PRIMARY KEY,
  message_ids TEXT NOT NULL
);
-- Log events another replica claimed in its dispatch journal, as read from the log. The group can
-- hand out again an event that replica already acked (after a leader change it resumes from a
-- checkpoint written every few acks); this replica then acks it without sending. Its standby rows
-- stay (a takeover needs them); these rows are pruned by age like them.
CREATE TABLE IF NOT EXISTS claimed_elsewhere (
  position   INTEGER PRIMARY KEY,
  replica_id TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);
-- Every replica's journal as last read: what it holds unsettled and until when its lease runs.
CREATE TABLE IF NOT EXISTS dispatchers (
  replica_id  TEXT PRIMARY KEY,
  revision    INTEGER NOT NULL,
  lease_until INTEGER NOT NULL,
  unsettled   TEXT NOT NULL
);
-- Replays being written (replay.ts): each batch of deliveries is committed with the replay's new place,
-- so a replay cut short by a crash or a stop resumes at the next start where it got to. Places are
-- change-feed cursors ("<position>@<day>"), which name the log, not this read model's rows.
CREATE TABLE IF NOT EXISTS replays (
  n              INTEGER PRIMARY KEY,
  endpoint_id    TEXT    NOT NULL,
  next_after     TEXT    NOT NULL, -- the next batch starts after this cursor
  through        TEXT    NOT NULL, -- the cursor of the last change it takes: where the dispatcher was when it began
  through_change TEXT    NOT NULL, -- that change's id (the dispatcher may have stopped inside its position and day)
  at             INTEGER NOT NULL, -- its deliveries' time, so they are sent in the order they were written
  deliveries     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS attempts (
  n            INTEGER PRIMARY KEY,
  delivery     INTEGER NOT NULL,
  attempted_at INTEGER NOT NULL,
  status_code  INTEGER,
  duration_ms  INTEGER NOT NULL,
  error        TEXT,
  response     TEXT
);
CREATE INDEX IF NOT EXISTS attempts_by_delivery ON attempts (delivery);
`;
