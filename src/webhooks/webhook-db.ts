// webhooks.db: the endpoint projection and the durable delivery queue. Every
// writer keeps its checkpoint in the same transaction as the rows it writes:
// the endpoints with the log position they reflect, the deliveries with the
// change-feed `seq` they were created from. So a crash loses nothing and
// creates nothing twice; an attempt cut short by a crash is simply made again
// (at least once).
//
// A delivery is 'pending' while it waits in webhooks.db (a retry, a backlog),
// and 'sending' while this process holds it in memory to send it: only the
// pending ones are in the index the worker reads, so a delivery that succeeds
// at its first attempt never enters it. At start, 'sending' means the last
// process died holding it, and it becomes 'pending' again.
import Database from 'better-sqlite3';
import type { Endpoint } from './endpoint.js';
import { WEBHOOK_DB_SCHEMA } from './webhook-schema.js';

export type DeliveryStatus = 'pending' | 'sending' | 'succeeded' | 'failed' | 'cancelled';
/** Not yet delivered, nor given up: waiting in webhooks.db or held in memory to send. */
const UNSETTLED = "('pending', 'sending')";
export type DeliveryOrigin = 'live' | 'replay' | 'test';

/** A delivery's public id: its row number, in base 36. */
export const deliveryId = (n: number): string => `dlv_${n.toString(36).padStart(8, '0')}`;
export const deliveryRowOf = (id: string): number | undefined => (/^dlv_[0-9a-z]{8,11}$/.test(id) ? parseInt(id.slice(4), 36) : undefined);

export interface DeliveryRow {
  n: number;
  endpoint_id: string;
  origin: DeliveryOrigin;
  message_id: string;
  type: string;
  position: number | null;
  sequence: number | null;
  status: DeliveryStatus;
  attempts: number;
  step: number;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface AttemptRow {
  n: number;
  delivery: number;
  attempted_at: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response: string | null;
}

/** What the worker holds of a delivery to send it and record its outcome; kept small, there may be many. */
export interface Outgoing {
  n: number;
  endpoint_id: string;
  message_id: string;
  sequence: number | null;
  step: number;
  /** The stored body (see payload.ts `deliveryBody`). */
  body: string;
}

export interface NewDelivery {
  endpointId: string;
  origin: DeliveryOrigin;
  messageId: string;
  type: string;
  position: number | null;
  sequence: number | null;
  at: number;
  /** 'sending' when it goes straight to the worker's memory; 'cancelled' for one its endpoint no longer takes. */
  status?: 'pending' | 'sending' | 'cancelled';
}

export interface StandbyDelivery {
  endpointId: string;
  messageId: string;
  type: string;
  position: number;
  sequence: number;
  at: number;
}

export interface DispatcherRow {
  replica_id: string;
  revision: number;
  lease_until: number;
  /** Log positions, as JSON. */
  unsettled: string;
}

/** A replay being written (replay.ts); cursors as text. */
export interface ReplayRow {
  n: number;
  endpoint_id: string;
  next_after: string;
  through: string;
  through_change: string;
  at: number;
  deliveries: number;
}

export interface EndpointStatusRow {
  endpoint_id: string;
  last_sequence: number;
  failing_since: number | null;
  last_success_at: number | null;
  last_failure_at: number | null;
  failing_resumed_at: number | null;
}

export class WebhookDb {
  private readonly db: Database.Database;
  private readonly sql;
  /** Last sequence number per endpoint; this process is webhooks.db's only writer. */
  private readonly sequences = new Map<string, number>();

  constructor(readonly file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL: a power cut may lose the last commits, and their checkpoints with them, so the
    // deliveries are created again from the change feed and attempts are made again: at least once.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    // Fewer, larger checkpoints: the queue writes a lot in small transactions.
    this.db.pragma('wal_autocheckpoint = 8000');
    this.db.pragma('cache_size = -65536'); // 64 MiB: the queue's indexes stay in memory
    this.db.exec(WEBHOOK_DB_SCHEMA);
    // webhooks.db files made before these columns: a stretch already failing has failed without a quiet spell.
    const statusColumns = this.db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('endpoint_status')").all().map((c) => c.name);
    if (!statusColumns.includes('last_failure_at')) this.db.exec('ALTER TABLE endpoint_status ADD COLUMN last_failure_at INTEGER');
    if (!statusColumns.includes('failing_resumed_at')) {
      this.db.exec('ALTER TABLE endpoint_status ADD COLUMN failing_resumed_at INTEGER; UPDATE endpoint_status SET failing_resumed_at = failing_since');
    }
    // Held in memory by a process that is gone: waiting again.
    this.db.prepare("UPDATE deliveries SET status = 'pending' WHERE status = 'sending'").run();
    this.sql = {
      checkpoint: this.db.prepare<[string], { value: number }>('SELECT value FROM checkpoints WHERE name = ?'),
      setCheckpoint: this.db.prepare<[number, string]>('UPDATE checkpoints SET value = ? WHERE name = ?'),
      endpoints: this.db.prepare<[], { state: string }>('SELECT state FROM endpoints'),
      endpointVersions: this.db.prepare<[], { state: string }>('SELECT state FROM endpoint_versions ORDER BY endpoint_id, position'),
      putEndpointVersion: this.db.prepare<[string, number, string]>('INSERT OR REPLACE INTO endpoint_versions (endpoint_id, position, state) VALUES (?, ?, ?)'),
      putEndpoint: this.db.prepare<[string, string]>('INSERT INTO endpoints (id, state) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state'),
      status: this.db.prepare<[string], EndpointStatusRow>('SELECT * FROM endpoint_status WHERE endpoint_id = ?'),
      ensureStatus: this.db.prepare<[string]>('INSERT OR IGNORE INTO endpoint_status (endpoint_id) VALUES (?)'),
      setLastSequence: this.db.prepare<[number, string]>('UPDATE endpoint_status SET last_sequence = ? WHERE endpoint_id = ?'),
      succeededAt: this.db.prepare<[number, string]>('UPDATE endpoint_status SET failing_since = NULL, last_success_at = ? WHERE endpoint_id = ?'),
      // Every expression reads the row as it was before the update.
      failedAt: this.db.prepare<[{ at: number; quietMs: number; endpointId: string }]>(
        'UPDATE endpoint_status SET failing_since = COALESCE(failing_since, @at), ' +
          'failing_resumed_at = CASE WHEN failing_since IS NULL OR failing_resumed_at IS NULL OR @at - COALESCE(last_failure_at, @at) > @quietMs THEN @at ELSE failing_resumed_at END, ' +
          'last_failure_at = MAX(COALESCE(last_failure_at, @at), @at) WHERE endpoint_id = @endpointId',
      ),
      resetFailing: this.db.prepare<[string]>('UPDATE endpoint_status SET failing_since = NULL WHERE endpoint_id = ?'),
      payload: this.db.prepare<[string], { body: string }>('SELECT body FROM payloads WHERE message_id = ?'),
      putPayload: this.db.prepare<[string, string]>('INSERT OR IGNORE INTO payloads (message_id, body) VALUES (?, ?)'),
      insertDelivery: this.db.prepare(
        `INSERT OR IGNORE INTO deliveries (endpoint_id, origin, message_id, type, position, sequence, status, next_attempt_at, created_at, updated_at)
         VALUES (@endpointId, @origin, @messageId, @type, @position, @sequence, @status, @at, @at, @at)`,
      ),
      due: this.db.prepare<[string, number, number, number], Outgoing>(
        `SELECT d.n, d.endpoint_id, d.message_id, d.sequence, d.step, p.body FROM deliveries d JOIN payloads p ON p.message_id = d.message_id
         WHERE d.endpoint_id = ? AND d.status = 'pending' AND d.next_attempt_at <= ? AND (? = 0 OR d.origin = 'test')
         ORDER BY d.next_attempt_at, d.n LIMIT ?`,
      ),
      nextDue: this.db.prepare<[string, number], { at: number | null }>(
        "SELECT MIN(next_attempt_at) AS at FROM deliveries WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at > ?",
      ),
      insertAttempt: this.db.prepare(
        'INSERT INTO attempts (delivery, attempted_at, status_code, duration_ms, error, response) VALUES (@delivery, @at, @statusCode, @durationMs, @error, @response)',
      ),
      countAttempt: this.db.prepare<[number]>('UPDATE deliveries SET attempts = attempts + 1 WHERE n = ?'),
      settle: this.db.prepare<[DeliveryStatus, number, number]>('UPDATE deliveries SET status = ?, next_attempt_at = NULL, updated_at = ? WHERE n = ?'),
      reschedule: this.db.prepare<[number, number, number, number]>(
        `UPDATE deliveries SET status = 'pending', step = ?, next_attempt_at = ?, updated_at = ? WHERE n = ? AND status IN ${UNSETTLED}`,
      ),
      cancelPending: this.db.prepare<[number, string]>(
        `UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, updated_at = ? WHERE endpoint_id = ? AND status IN ${UNSETTLED}`,
      ),
      requeue: this.db.prepare<[number]>("UPDATE deliveries SET status = 'pending' WHERE n = ? AND status = 'sending'"),
      retryNow: this.db.prepare<[number, number, number]>("UPDATE deliveries SET status = 'pending', step = 0, next_attempt_at = ?, updated_at = ? WHERE n = ?"),
      delivery: this.db.prepare<[string, number], DeliveryRow>('SELECT * FROM deliveries WHERE endpoint_id = ? AND n = ?'),
      pendingCount: this.db.prepare<[string], { n: number }>(`SELECT COUNT(*) AS n FROM deliveries WHERE endpoint_id = ? AND status IN ${UNSETTLED}`),
      pendingTotal: this.db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM deliveries WHERE status IN ${UNSETTLED}`),
      // Given up since `since` is judged by updated_at, the time of its last attempt (or of its
      // cancelling): a delivery is always created before its first attempt, so created_at would
      // leave out the very changes whose failures started the failing.
      earliestMissed: this.db.prepare<[string, number], { position: number | null }>(
        `SELECT MIN(position) AS position FROM deliveries WHERE endpoint_id = ? AND origin != 'test' AND status != 'succeeded' AND (status IN ${UNSETTLED} OR updated_at >= ?)`,
      ),
      replays: this.db.prepare<[], ReplayRow>('SELECT * FROM replays ORDER BY n'),
      insertReplay: this.db.prepare<Omit<ReplayRow, 'n' | 'deliveries'>>(
        'INSERT INTO replays (endpoint_id, next_after, through, through_change, at) VALUES (@endpoint_id, @next_after, @through, @through_change, @at)',
      ),
      replayWritten: this.db.prepare<[string, number, number]>('UPDATE replays SET next_after = ?, deliveries = ? WHERE n = ?'),
      dropReplay: this.db.prepare<[number]>('DELETE FROM replays WHERE n = ?'),
      meta: this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      insertStandby: this.db.prepare(
        `INSERT OR IGNORE INTO standby (endpoint_id, message_id, type, position, sequence, created_at)
         SELECT @endpointId, @messageId, @type, @position, @sequence, @at
         WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE endpoint_id = @endpointId AND message_id = @messageId AND origin = 'live')`,
      ),
      standbyOf: this.db.prepare<[string], StandbyDelivery>(
        'SELECT endpoint_id AS endpointId, message_id AS messageId, type, position, sequence, created_at AS at FROM standby WHERE message_id = ? ORDER BY endpoint_id',
      ),
      dropStandby: this.db.prepare<[string]>('DELETE FROM standby WHERE message_id = ?'),
      pruneStandby: this.db.prepare<[number]>('DELETE FROM standby WHERE created_at < ?'),
      liveSequence: this.db.prepare<[string, string, string, string], { sequence: number }>(
        `SELECT sequence FROM deliveries WHERE endpoint_id = ? AND message_id = ? AND origin = 'live'
         UNION ALL SELECT sequence FROM standby WHERE endpoint_id = ? AND message_id = ? LIMIT 1`,
      ),
      openLive: this.db.prepare<[string], { n: number }>(
        `SELECT COUNT(*) AS n FROM deliveries WHERE origin = 'live' AND status IN ${UNSETTLED} AND message_id IN (SELECT value FROM json_each(?))`,
      ),
      cancelLive: this.db.prepare<[number, string]>(
        `UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, updated_at = ? WHERE origin = 'live' AND status IN ${UNSETTLED} AND message_id IN (SELECT value FROM json_each(?))`,
      ),
      claims: this.db.prepare<[], { position: number; message_ids: string }>('SELECT * FROM claims ORDER BY position'),
      putClaim: this.db.prepare<[number, string]>('INSERT OR REPLACE INTO claims (position, message_ids) VALUES (?, ?)'),
      dropClaim: this.db.prepare<[number]>('DELETE FROM claims WHERE position = ?'),
      putClaimedElsewhere: this.db.prepare<[number, string, number]>('INSERT OR REPLACE INTO claimed_elsewhere (position, replica_id, created_at) VALUES (?, ?, ?)'),
      claimedElsewhere: this.db.prepare<[number], { replica_id: string }>('SELECT replica_id FROM claimed_elsewhere WHERE position = ?'),
      pruneClaimedElsewhere: this.db.prepare<[number]>('DELETE FROM claimed_elsewhere WHERE created_at < ?'),
      dispatchers: this.db.prepare<[], DispatcherRow>('SELECT * FROM dispatchers ORDER BY replica_id'),
      dispatcher: this.db.prepare<[string], DispatcherRow>('SELECT * FROM dispatchers WHERE replica_id = ?'),
      putDispatcher: this.db.prepare(
        `INSERT INTO dispatchers (replica_id, revision, lease_until, unsettled) VALUES (@replica_id, @revision, @lease_until, @unsettled)
         ON CONFLICT (replica_id) DO UPDATE SET revision = excluded.revision, lease_until = excluded.lease_until, unsettled = excluded.unsettled`,
      ),
      prune: this.db.prepare<[number]>(`DELETE FROM deliveries WHERE status NOT IN ${UNSETTLED} AND updated_at < ?`),
      pruneAttempts: this.db.prepare('DELETE FROM attempts WHERE delivery NOT IN (SELECT n FROM deliveries)'),
      prunePayloads: this.db.prepare('DELETE FROM payloads WHERE message_id NOT IN (SELECT message_id FROM deliveries) AND message_id NOT IN (SELECT message_id FROM standby)'),
    };
  }

  transaction<T>(run: () => T): T {
    try {
      return this.db.transaction(run).immediate();
    } catch (error) {
      this.sequences.clear(); // they may hold numbers of the rolled-back transaction
      throw error;
    }
  }

  checkpoint(name: 'endpoints' | 'dispatch_seq' | 'dispatch_position'): number {
    return this.sql.checkpoint.get(name)?.value ?? 0;
  }

  setCheckpoint(name: 'endpoints' | 'dispatch_seq' | 'dispatch_position', value: number): void {
    this.sql.setCheckpoint.run(value, name);
  }

  endpoints(): Endpoint[] {
    return this.sql.endpoints.all().map((r) => JSON.parse(r.state) as Endpoint);
  }

  putEndpoint(endpoint: Endpoint): void {
    const state = JSON.stringify(endpoint);
    this.sql.putEndpoint.run(endpoint.id, state);
    this.sql.putEndpointVersion.run(endpoint.id, endpoint.position, state);
    this.sql.ensureStatus.run(endpoint.id);
  }

  /** Every endpoint state recorded, each endpoint's in log order. */
  endpointVersions(): Endpoint[] {
    return this.sql.endpointVersions.all().map((r) => JSON.parse(r.state) as Endpoint);
  }

  status(endpointId: string): EndpointStatusRow | undefined {
    return this.sql.status.get(endpointId);
  }

  lastSequence(endpointId: string): number {
    let sequence = this.sequences.get(endpointId);
    if (sequence === undefined) {
      sequence = this.status(endpointId)?.last_sequence ?? 0;
      this.sequences.set(endpointId, sequence);
    }
    return sequence;
  }

  setLastSequence(endpointId: string, sequence: number): void {
    this.sql.setLastSequence.run(sequence, endpointId);
    this.sequences.set(endpointId, sequence);
  }

  payload(messageId: string): string | undefined {
    return this.sql.payload.get(messageId)?.body;
  }

  /** Keeps a message's body once, whatever the number of endpoints it goes to. */
  putPayload(messageId: string, body: string): void {
    this.sql.putPayload.run(messageId, body);
  }

  /** The new delivery's row, or undefined when a live delivery of that message to that endpoint already exists. */
  insertDelivery(delivery: NewDelivery): number | undefined {
    const info = this.sql.insertDelivery.run({ status: 'pending', ...delivery });
    return info.changes === 1 ? Number(info.lastInsertRowid) : undefined;
  }

  due(endpointId: string, now: number, limit: number, testsOnly: boolean): Outgoing[] {
    return this.sql.due.all(endpointId, now, testsOnly ? 1 : 0, limit);
  }

  /** When the endpoint's next delivery not yet due comes due. */
  nextDueAfter(endpointId: string, now: number): number | undefined {
    return this.sql.nextDue.get(endpointId, now)?.at ?? undefined;
  }

  /**
   * Logs an attempt and counts it, together: the count is the log's length whatever happens
   * to the delivery's status (an attempt that ends after its endpoint was disabled is logged
   * and counted, though the delivery stays cancelled).
   */
  insertAttempt(attempt: { delivery: number; at: number; statusCode: number | null; durationMs: number; error: string | null; response: string | null }): void {
    this.sql.insertAttempt.run(attempt);
    this.sql.countAttempt.run(attempt.delivery);
  }

  settle(n: number, status: 'succeeded' | 'failed', at: number): void {
    this.sql.settle.run(status, at, n);
  }

  reschedule(n: number, step: number, nextAttemptAt: number, at: number): void {
    this.sql.reschedule.run(step, nextAttemptAt, at, n);
  }

  succeeded(endpointId: string, at: number): void {
    this.sql.succeededAt.run(at, endpointId);
  }

  /**
   * Marks a failed attempt started at `at`. Returns since when the endpoint has been failing
   * (without a success), and since when it has been failing without a spell longer than
   * `quietMs` with no attempt: such a spell says nothing of failing.
   */
  failed(endpointId: string, at: number, quietMs: number): { failingSince: number; resumedAt: number } {
    this.sql.failedAt.run({ at, quietMs, endpointId });
    const status = this.status(endpointId);
    return { failingSince: status?.failing_since ?? at, resumedAt: status?.failing_resumed_at ?? at };
  }

  resetFailing(endpointId: string): void {
    this.sql.resetFailing.run(endpointId);
  }

  cancelPending(endpointId: string, at: number): number {
    return this.sql.cancelPending.run(at, endpointId).changes;
  }

  /** Deliveries the worker let go of unsent: waiting in webhooks.db again. */
  requeue(rows: readonly number[]): void {
    if (rows.length === 0) return;
    this.transaction(() => {
      for (const n of rows) this.sql.requeue.run(n);
    });
  }

  retryNow(n: number, at: number): void {
    this.sql.retryNow.run(at, at, n);
  }

  delivery(endpointId: string, id: string): DeliveryRow | undefined {
    const n = deliveryRowOf(id);
    return n === undefined ? undefined : this.sql.delivery.get(endpointId, n);
  }

  deliveries(endpointId: string, query: { before?: number; status?: DeliveryStatus; limit: number }): DeliveryRow[] {
    const where = ['endpoint_id = @endpointId'];
    if (query.before !== undefined) where.push('n < @before');
    if (query.status === 'pending') where.push(`status IN ${UNSETTLED}`);
    else if (query.status) where.push('status = @status');
    return this.db
      .prepare<Record<string, unknown>, DeliveryRow>(`SELECT * FROM deliveries WHERE ${where.join(' AND ')} ORDER BY n DESC LIMIT @limit`)
      .all({ endpointId, ...query });
  }

  attemptsOf(deliveries: readonly number[]): AttemptRow[] {
    if (deliveries.length === 0) return [];
    return this.db
      .prepare<number[], AttemptRow>(`SELECT * FROM attempts WHERE delivery IN (${deliveries.map(() => '?').join(',')}) ORDER BY n`)
      .all(...deliveries);
  }

  pendingCount(endpointId: string): number {
    return this.sql.pendingCount.get(endpointId)?.n ?? 0;
  }

  pendingTotal(): number {
    return this.sql.pendingTotal.get()?.n ?? 0;
  }

  /** The smallest log position of a change not delivered: pending, or last attempted (and given up on) since `since`. */
  earliestMissed(endpointId: string, since: number): number | undefined {
    return this.sql.earliestMissed.get(endpointId, since)?.position ?? undefined;
  }

  /** Replays not yet written whole, oldest first. */
  replays(): ReplayRow[] {
    return this.sql.replays.all();
  }

  insertReplay(replay: Omit<ReplayRow, 'n' | 'deliveries'>): ReplayRow {
    const n = Number(this.sql.insertReplay.run(replay).lastInsertRowid);
    return { ...replay, n, deliveries: 0 };
  }

  /** A replay's batch is written: it goes on after `nextAfter`. */
  replayWritten(n: number, nextAfter: string, deliveries: number): void {
    this.sql.replayWritten.run(nextAfter, deliveries, n);
  }

  dropReplay(n: number): void {
    this.sql.dropReplay.run(n);
  }

  meta(key: string): string | undefined {
    return this.sql.meta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.sql.setMeta.run(key, value);
  }

  /** A change on standby for an endpoint; false when it is already there or already a live delivery here. */
  insertStandby(delivery: StandbyDelivery): boolean {
    return this.sql.insertStandby.run(delivery).changes === 1;
  }

  hasStandby(messageIds: readonly string[]): boolean {
    return messageIds.some((id) => this.sql.standbyOf.get(id) !== undefined);
  }

  /** Takes a change's standby rows (one per endpoint): they are about to become deliveries. */
  takeStandby(messageId: string): StandbyDelivery[] {
    const rows = this.sql.standbyOf.all(messageId);
    if (rows.length > 0) this.sql.dropStandby.run(messageId);
    return rows;
  }

  /** The sequence number a change has (or had) live for an endpoint here, if any. */
  liveSequence(endpointId: string, messageId: string): number | undefined {
    return this.sql.liveSequence.get(endpointId, messageId, endpointId, messageId)?.sequence;
  }

  /** How many live deliveries of these changes are still pending or being sent. */
  openLive(messageIds: readonly string[]): number {
    return this.sql.openLive.get(JSON.stringify(messageIds))?.n ?? 0;
  }

  /** Cancels what is left to send of these changes (another replica took them over). */
  cancelLive(messageIds: readonly string[], at: number): number {
    return this.sql.cancelLive.run(at, JSON.stringify(messageIds)).changes;
  }

  claims(): Array<{ position: number; messageIds: string[] }> {
    return this.sql.claims.all().map((r) => ({ position: r.position, messageIds: JSON.parse(r.message_ids) as string[] }));
  }

  putClaim(position: number, messageIds: readonly string[]): void {
    this.sql.putClaim.run(position, JSON.stringify(messageIds));
  }

  dropClaim(position: number): void {
    this.sql.dropClaim.run(position);
  }

  /** Another replica's claim of a log event, read from its journal. */
  putClaimedElsewhere(position: number, replicaId: string, at: number): void {
    this.sql.putClaimedElsewhere.run(position, replicaId, at);
  }

  /** The replica, other than this one, that claimed this log event; undefined if none did (or it was pruned). */
  claimedElsewhere(position: number): string | undefined {
    return this.sql.claimedElsewhere.get(position)?.replica_id;
  }

  dispatchers(): DispatcherRow[] {
    return this.sql.dispatchers.all();
  }

  dispatcher(replicaId: string): DispatcherRow | undefined {
    return this.sql.dispatcher.get(replicaId);
  }

  putDispatcher(row: DispatcherRow): void {
    this.sql.putDispatcher.run(row);
  }

  /** Drops finished deliveries (and their attempts) last touched before `before`, and standby rows and other replicas' claims older than that. */
  prune(before: number): number {
    return this.transaction(() => {
      this.sql.pruneStandby.run(before);
      this.sql.pruneClaimedElsewhere.run(before);
      const removed = this.sql.prune.run(before).changes;
      if (removed > 0) {
        this.sql.pruneAttempts.run();
        this.sql.prunePayloads.run();
      }
      return removed;
    });
  }

  close(): void {
    this.db.close();
  }
}
