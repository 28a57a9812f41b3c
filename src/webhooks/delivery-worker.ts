// Sends pending deliveries and records every attempt. Each endpoint has its own
// concurrency limit and its own queue, so an endpoint that is slow or refuses
// connections only ever holds its own slots: the others keep going.
//
// The queue of an endpoint is fed two ways: the dispatcher hands over the
// deliveries it has just committed (the fast path), and when an endpoint may
// have more due in webhooks.db than in memory (a backlog: at start, after a
// retry comes due, a replay, a manual retry) they are read from there. When
// each endpoint's next retry comes due is kept in memory, so no timer ever
// scans the whole queue. A
// delivery taken into memory is claimed until its outcome is written, so this
// process never sends it twice at once; after a crash it is pending in
// SQLite and is sent again. Outcomes are written in batches, a few
// milliseconds apart: a slot is free again as soon as its answer is in, but
// one commit per answer would cost more than the HTTP request.
//
// An endpoint whose current secret cannot be opened (sealed under another
// webhook secrets key, as after a restore without DATA_DIR/webhook-secrets.key)
// is sent nothing: a wrong key never signs. Its deliveries stay pending in
// webhooks.db, a warning is logged once, and they go out once the secret has
// been rotated (the next look at the endpoint finds a secret it can open).
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { DisabledReason } from '../../events/webhook-endpoint.js';
import type { DeliveryOutcome } from '../metrics/metrics.js';
import type { AttemptOutcome, DeliveryClient } from './delivery-client.js';
import { signingKeys, type Endpoint } from './endpoint.js';
import type { EndpointProjection } from './endpoint-projection.js';
import { durationInWords } from './duration.js';
import { deliveryBody } from './payload.js';
import { askedToWaitMs, nextDelay, quietSpellMs } from './retry-policy.js';
import type { SecretBox } from './secret-box.js';
import type { WebhookSettings } from './settings.js';
import { signatureHeader } from './signing.js';
import type { Outgoing, WebhookDb } from './webhook-db.js';

export interface DisableRequest {
  endpointId: string;
  reason: z.infer<typeof DisabledReason>;
  detail: string;
  failingSince?: number;
}

interface Finished {
  row: Outgoing;
  at: number;
  outcome: AttemptOutcome;
}

const PRUNE_EVERY_MS = 60 * 60_000;
/** Deliveries read from webhooks.db per endpoint at a time. */
const READ_AHEAD = 64;
/** Beyond this many waiting in memory, new deliveries stay in webhooks.db until the queue drains. */
const MAX_QUEUED = 1_024;
/** How long outcomes gather before they are written together. */
const FLUSH_EVERY_MS = 25;

export class DeliveryWorker {
  /** Emits 'recorded' (delivery rows) once the outcomes of their attempts are written. */
  readonly events = new EventEmitter();
  private readonly queues = new Map<string, Outgoing[]>();
  /** Endpoints that may have due deliveries in webhooks.db that are not in their queue. */
  private readonly backlog = new Set<string>();
  /** For each endpoint with retries waiting, when the next one comes due. */
  private readonly retries = new Map<string, number>();
  /**
   * Endpoints that answered a 429 or 503 with Retry-After → the time they asked to be sent nothing
   * before. The whole endpoint waits, not just that delivery: a receiver shedding load is not sent
   * the rest of a burst meanwhile, each to be refused and spend a retry. Test pings still go.
   * Kept with the URL that asked: an endpoint moved to another URL is not held by the old one.
   */
  private readonly heldUntil = new Map<string, { until: number; url: string }>();
  /** Endpoints a replay is being written for → how many replays (replay.ts). */
  private readonly replaying = new Map<string, number>();
  private readonly active = new Map<string, number>();
  /** Deliveries queued, being sent, or waiting for their outcome to be written. */
  private readonly claimed = new Set<number>();
  private readonly claimedPerEndpoint = new Map<string, number>();
  private readonly disabling = new Set<string>();
  /** Endpoints held because their current secret cannot be opened → that sealed secret (warned about once). */
  private readonly unreadable = new Map<string, string>();
  private readonly inFlight = new Set<Promise<void>>();
  private finished: Finished[] = [];
  private flushScheduled = false;
  private totalActive = 0;
  private starved = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private timerAt = Number.POSITIVE_INFINITY;
  private tick?: NodeJS.Timeout;
  private lastPrune = 0;
  /** After a spell this long with no attempt, a failing delivery spends its schedule before disabling (retry-policy.ts). */
  private readonly quietMs: number;

  constructor(
    private readonly db: WebhookDb,
    private readonly endpoints: EndpointProjection,
    private readonly client: DeliveryClient,
    private readonly secrets: SecretBox,
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly disable: (request: DisableRequest) => Promise<void>,
    /** One call per attempt, for /metrics. */
    private readonly report: (outcome: DeliveryOutcome) => void = () => undefined,
  ) {
    this.quietMs = quietSpellMs(settings);
    // Each test ping waits for its outcome on 'recorded': any number may wait at once.
    this.events.setMaxListeners(0);
  }

  start(): void {
    for (const endpoint of this.endpoints.all()) {
      this.backlog.add(endpoint.id);
      this.pump(endpoint.id);
      const next = this.db.nextDueAfter(endpoint.id, this.now());
      if (next !== undefined) this.retryAt(endpoint.id, next);
    }
    this.tick = setInterval(() => this.pumpAll(), this.settings.pollIntervalMs);
    this.tick.unref();
  }

  /** How many deliveries the dispatcher may hand this endpoint's queue now; none behind a backlog in webhooks.db. */
  room(endpointId: string): number {
    if (this.stopped || this.backlog.has(endpointId) || this.heldTill(endpointId) !== undefined || this.replaying.has(endpointId)) return 0;
    const endpoint = this.endpoints.get(endpointId);
    if (endpoint && !this.secrets.canOpen(endpoint.secrets[0].sealed)) return 0;
    return MAX_QUEUED - (this.queues.get(endpointId)?.length ?? 0);
  }

  /**
   * Deliveries the dispatcher has just committed: `rows` as 'sending', for the queues
   * (they had room), and new ones left 'pending' in webhooks.db for the endpoints `waitingIn`.
   */
  offer(rows: readonly Outgoing[], waitingIn: ReadonlySet<string> = new Set()): void {
    for (const id of waitingIn) this.backlog.add(id);
    const touched = new Set(waitingIn);
    for (const row of rows) {
      this.claim(row);
      this.queueOf(row.endpoint_id).push(row);
      touched.add(row.endpoint_id);
    }
    for (const id of touched) this.pump(id);
  }

  /** Deliveries of these endpoints changed in webhooks.db (a replay, a retry, a ping): look there again. */
  notify(endpointIds: Iterable<string>): void {
    for (const id of endpointIds) {
      this.backlog.add(id);
      this.pump(id);
    }
  }

  /**
   * A replay of this endpoint is being written, batch by batch: until it is whole the endpoint gets
   * only test pings. Its receiver then gets the replay in the order of the feed, and after it the
   * changes that came live meanwhile (written later, so due later), never some of them in between.
   */
  holdForReplay(endpointId: string): void {
    this.replaying.set(endpointId, (this.replaying.get(endpointId) ?? 0) + 1);
  }

  replayWritten(endpointId: string): void {
    const left = (this.replaying.get(endpointId) ?? 1) - 1;
    if (left > 0) return void this.replaying.set(endpointId, left);
    this.replaying.delete(endpointId);
    this.notify([endpointId]);
  }

  isClaimed(deliveryRow: number): boolean {
    return this.claimed.has(deliveryRow);
  }

  private queueOf(endpointId: string): Outgoing[] {
    let queue = this.queues.get(endpointId);
    if (!queue) this.queues.set(endpointId, (queue = []));
    return queue;
  }

  private claim(row: Outgoing): void {
    this.claimed.add(row.n);
    this.claimedPerEndpoint.set(row.endpoint_id, (this.claimedPerEndpoint.get(row.endpoint_id) ?? 0) + 1);
  }

  private release(row: Outgoing): void {
    this.claimed.delete(row.n);
    this.claimedPerEndpoint.set(row.endpoint_id, (this.claimedPerEndpoint.get(row.endpoint_id) ?? 1) - 1);
  }

  /** Puts a queue back into webhooks.db's hands: what was held to send is pending there again. */
  private drop(endpointId: string): void {
    const queue = this.queues.get(endpointId) ?? [];
    this.queues.delete(endpointId);
    this.backlog.add(endpointId);
    try {
      this.db.requeue(queue.map((row) => row.n));
    } catch (error) {
      this.logger.error({ err: error, endpointId }, 'could not put deliveries back in the queue; they are sent after a restart');
    }
    for (const row of queue) this.release(row);
  }

  /** The safety net behind the wake-ups, and the retries that came due. */
  private pumpAll(): void {
    if (this.stopped) return;
    this.starved = false;
    this.dueRetries();
    for (const endpoint of this.inTurn()) {
      // An idle endpoint looks in webhooks.db again (cheap: it finds nothing, or what a lost write left).
      if ((this.queues.get(endpoint.id)?.length ?? 0) === 0) this.backlog.add(endpoint.id);
      this.pump(endpoint.id);
    }
    for (const id of this.queues.keys()) if (!this.endpoints.get(id)) this.drop(id);
    if (this.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = this.now();
      const pruned = this.db.prune(this.now() - this.settings.logRetentionMs);
      if (pruned > 0) this.logger.info({ pruned }, 'old delivery log entries pruned');
    }
  }

  /**
   * Every endpoint, those with fewest attempts in flight first, and among equals a pass starting one
   * further along each time. When every slot across endpoints is taken (WEBHOOK_MAX_IN_FLIGHT), each
   * one freed goes to the first endpoint of the pass that has something to send: were that always
   * the first created, slow endpoints created early would take every slot as it freed, and the
   * others would wait for as long as those had work. An endpoint holding slots already waits for
   * one holding none: a slow endpoint keeps a slot for as long as its timeout, a healthy one hands
   * it on at once, so the slots freed keep going round the endpoints that answer.
   * So the endpoints with work come to equal shares as slots free (measured: two endpoints answering
   * in 3 s and a healthy one, 6 slots, settle at 2, 2 and 2). No cap on an endpoint's share: slots are
   * never taken back, so what slow endpoints hold beyond it comes back only as their attempts end,
   * which is when this already hands it on. A cap would only spread the slots among endpoints given
   * work in the same moment, and to leave none idle it would need to know which endpoints have work
   * waiting in webhooks.db, not only in memory.
   */
  private inTurn(): Endpoint[] {
    const all = this.endpoints.all();
    const start = all.length > 0 ? this.turn++ % all.length : 0;
    const rotated = [...all.slice(start), ...all.slice(0, start)];
    return rotated.sort((a, b) => (this.active.get(a.id) ?? 0) - (this.active.get(b.id) ?? 0));
  }

  private turn = 0;

  private retryAt(endpointId: string, at: number): void {
    this.retries.set(endpointId, Math.min(at, this.retries.get(endpointId) ?? Number.POSITIVE_INFINITY));
    this.wakeAt(at);
  }

  /** Endpoints whose retries came due look in webhooks.db, and learn when their next one comes. */
  private dueRetries(): void {
    const now = this.now();
    for (const [endpointId, at] of this.retries) {
      if (at > now) continue;
      this.retries.delete(endpointId);
      this.backlog.add(endpointId);
      this.pump(endpointId);
      const next = this.db.nextDueAfter(endpointId, now);
      if (next !== undefined) this.retryAt(endpointId, next);
    }
    const earliest = Math.min(...this.retries.values());
    if (earliest < Number.POSITIVE_INFINITY) this.wakeAt(earliest);
  }

  private wakeAt(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      if (!this.stopped) this.dueRetries();
    }, Math.max(0, Math.min(at - this.now(), this.settings.pollIntervalMs)));
    this.timer.unref();
  }

  private pump(endpointId: string): void {
    if (this.stopped) return;
    const endpoint = this.endpoints.get(endpointId);
    if (!endpoint) {
      this.heldUntil.delete(endpointId);
      return this.drop(endpointId);
    }
    // A disabled endpoint gets only its test pings, so it can be checked before it is enabled again;
    // so does one that asked for a wait, until then (and is woken then), and one being replayed.
    const heldTill = this.heldTill(endpointId);
    if (heldTill !== undefined) this.retryAt(endpointId, heldTill);
    const testsOnly = heldTill !== undefined || !endpoint.enabled || this.disabling.has(endpointId) || this.replaying.has(endpointId);
    if (testsOnly && (this.queues.get(endpointId)?.length ?? 0) > 0) this.drop(endpointId);
    const secrets = this.signingSecrets(endpoint, this.now());
    if (!secrets) {
      // Nothing goes out unsigned or signed with a wrong key: what was queued waits in webhooks.db.
      if ((this.queues.get(endpointId)?.length ?? 0) > 0) this.drop(endpointId);
      return;
    }
    let free = this.settings.concurrencyPerEndpoint - (this.active.get(endpointId) ?? 0);
    const queue = this.queueOf(endpointId);
    while (free > 0) {
      if (this.totalActive >= this.settings.maxInFlight) {
        this.starved = true;
        return;
      }
      if (queue.length === 0 && !this.refill(endpointId, queue, testsOnly)) return;
      this.send(endpoint, queue.shift()!, secrets);
      free -= 1;
    }
  }

  /**
   * Until when the endpoint waits, as its receiver asked (Retry-After on a 429 or 503): only test
   * pings go meanwhile. Undefined when it does not (a hold past, or for another URL, is dropped).
   */
  heldTill(endpointId: string): number | undefined {
    const hold = this.heldUntil.get(endpointId);
    if (hold === undefined) return undefined;
    if (hold.until > this.now() && hold.url === this.endpoints.get(endpointId)?.url) return hold.until;
    this.heldUntil.delete(endpointId);
    return undefined;
  }

  /** The receiver asked (Retry-After on a 429 or 503) for nothing before a time: the endpoint waits. */
  private holdIfAsked(endpoint: Endpoint, at: number, outcome: AttemptOutcome): void {
    const wait = askedToWaitMs(outcome);
    if (wait === null) return;
    const until = at + outcome.durationMs + wait;
    if (until > (this.heldUntil.get(endpoint.id)?.until ?? 0)) this.heldUntil.set(endpoint.id, { until, url: endpoint.url });
  }

  /** Reads due deliveries from webhooks.db into the queue; false when there are none. */
  private refill(endpointId: string, queue: Outgoing[], testsOnly: boolean): boolean {
    if (!this.backlog.has(endpointId)) return false;
    // Claimed rows are still pending in webhooks.db, so read past them.
    const limit = READ_AHEAD + (this.claimedPerEndpoint.get(endpointId) ?? 0);
    const rows = this.db.due(endpointId, this.now(), limit, testsOnly);
    for (const row of rows) {
      if (this.claimed.has(row.n)) continue;
      this.claim(row);
      queue.push(row);
    }
    // Fewer than asked for: everything due is in memory now, and new ones come through offer().
    if (rows.length < limit && !testsOnly) this.backlog.delete(endpointId);
    return queue.length > 0;
  }

  /**
   * The secrets that sign at `at`, opened: the current one, and the previous one during its
   * overlap when it can be opened. Undefined when the current one cannot be: the endpoint is
   * held until its secret is rotated (logged once per secret, and once when it resumes).
   */
  private signingSecrets(endpoint: Endpoint, at: number): string[] | undefined {
    const [current, ...previous] = signingKeys(endpoint, at);
    const secret = this.secrets.open(current.sealed);
    if (secret === undefined) {
      if (this.unreadable.get(endpoint.id) !== current.sealed) {
        this.unreadable.set(endpoint.id, current.sealed);
        this.logger.warn(
          { event: 'endpoint.secret-unreadable', endpointId: endpoint.id, pending: this.db.pendingCount(endpoint.id) },
          "a webhook endpoint's secret cannot be opened with this webhook secrets key (restored without it?): nothing is sent to it, its deliveries stay pending until its secret is rotated",
        );
      }
      return undefined;
    }
    if (this.unreadable.delete(endpoint.id)) this.logger.info({ endpointId: endpoint.id }, "a webhook endpoint's secret can be opened again: its deliveries resume");
    // A previous secret sealed under another key (rotated after a restore) cannot sign; the new one does.
    return [secret, ...previous.map((key) => this.secrets.open(key.sealed)).filter((s): s is string => s !== undefined)];
  }

  private send(endpoint: Endpoint, row: Outgoing, keys: readonly string[]): void {
    this.active.set(endpoint.id, (this.active.get(endpoint.id) ?? 0) + 1);
    this.totalActive += 1;
    const at = this.now();
    const timestamp = Math.floor(at / 1_000);
    const body = deliveryBody(row.body, row.sequence);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'policy-state-webhooks/1',
      'webhook-id': row.message_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(keys, row.message_id, timestamp, body),
    };
    const attempt: Promise<void> = this.client.post(endpoint.url, headers, body).then((outcome) => {
      this.inFlight.delete(attempt);
      this.active.set(endpoint.id, (this.active.get(endpoint.id) ?? 1) - 1);
      this.totalActive -= 1;
      this.finished.push({ row, at, outcome });
      // Before the freed slot is used: the next delivery must not go if the receiver asked for a wait.
      this.holdIfAsked(endpoint, at, outcome);
      this.scheduleFlush();
      // The slot is free: the next one in the queue goes now (the outcome is written with the next batch).
      if (this.starved) this.pumpAll();
      else this.pump(endpoint.id);
    });
    this.inFlight.add(attempt);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setTimeout(() => this.flush(), this.stopped ? 0 : FLUSH_EVERY_MS);
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.finished;
    this.finished = [];
    if (batch.length === 0) return;
    const disables = new Map<string, DisableRequest>();
    const retries = new Map<string, number>();
    try {
      this.db.transaction(() => {
        const succeeded = new Map<string, number>();
        for (const { row, at, outcome } of batch) {
          this.db.insertAttempt({ delivery: row.n, at, statusCode: outcome.statusCode, durationMs: outcome.durationMs, error: outcome.error, response: outcome.responseStart });
          // Cut short by a shutdown: in the log (the receiver may have had it), but no step of the
          // schedule and no failure. The delivery is pending again, below, and goes after the restart.
          if (outcome.interrupted) continue;
          const endpointId = row.endpoint_id;
          const done = at + outcome.durationMs;
          const status = outcome.statusCode;
          if (status !== null && status >= 200 && status < 300) {
            this.db.settle(row.n, 'succeeded', done);
            succeeded.set(endpointId, Math.max(done, succeeded.get(endpointId) ?? 0));
            this.report('succeeded');
            continue;
          }
          const { failingSince, resumedAt } = this.db.failed(endpointId, at, this.quietMs);
          if (status === 410) {
            this.db.settle(row.n, 'failed', done);
            disables.set(endpointId, { endpointId, reason: 'gone', detail: 'the endpoint answered 410 Gone', failingSince });
            this.report('gone');
            continue;
          }
          const delay = nextDelay(this.settings, { step: row.step + 1, statusCode: status, retryAfterMs: outcome.retryAfterMs });
          if (delay === null) {
            this.db.settle(row.n, 'failed', done);
            this.report('abandoned');
          } else {
            this.db.reschedule(row.n, row.step + 1, done + delay, done);
            retries.set(endpointId, Math.min(done + delay, retries.get(endpointId) ?? Number.POSITIVE_INFINITY));
            this.report(outcome.timedOut ? 'timed-out' : 'failed');
          }
          // After a quiet spell (days with nothing to send), the delivery at hand first gets its whole
          // schedule: a receiver back up takes a retry, one still down is disabled when it is spent.
          const disableAfter = this.settings.disableAfterMs;
          const failingThrough = delay === null || done - resumedAt >= Math.min(this.quietMs, disableAfter);
          if (done - failingSince >= disableAfter && failingThrough && !disables.has(endpointId)) {
            const detail = `every attempt failed for ${durationInWords(done - failingSince)} (since ${new Date(failingSince).toISOString()})`;
            disables.set(endpointId, { endpointId, reason: 'failing', detail, failingSince });
          }
        }
        for (const [endpointId, at] of succeeded) this.db.succeeded(endpointId, at);
      });
    } catch (error) {
      // The outcomes are lost, not the deliveries: they stay pending, due, and are attempted again.
      this.logger.error({ err: error }, 'recording delivery attempts failed');
      retries.clear();
      try {
        this.db.requeue(batch.map((f) => f.row.n));
      } catch {
        // Still 'sending': they are sent again after a restart.
      }
      for (const { row } of batch) this.backlog.add(row.endpoint_id);
    }
    const interrupted = batch.filter((f) => f.outcome.interrupted).map((f) => f.row.n);
    if (interrupted.length > 0) {
      try {
        this.db.requeue(interrupted);
      } catch {
        // Still 'sending': they are sent again after a restart.
      }
    }
    for (const { row } of batch) this.release(row);
    this.events.emit('recorded', batch.map((f) => f.row.n));
    if (this.starved) this.pumpAll();
    else for (const id of new Set(batch.map((f) => f.row.endpoint_id))) this.pump(id);
    for (const [endpointId, at] of retries) this.retryAt(endpointId, at);
    for (const request of disables.values()) this.requestDisable(request);
  }

  private requestDisable(request: DisableRequest): void {
    if (this.stopped || this.disabling.has(request.endpointId) || !this.endpoints.get(request.endpointId)?.enabled) return;
    this.disabling.add(request.endpointId);
    this.logger.warn({ event: 'endpoint.disabled', ...request }, 'disabling a webhook endpoint');
    this.disable(request)
      .catch((error) => this.logger.error({ err: error, endpointId: request.endpointId }, 'disabling the endpoint failed'))
      .finally(() => this.disabling.delete(request.endpointId));
  }

  /** Stops taking deliveries, lets those in flight finish within the grace period, then aborts the rest (they stay pending). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tick) clearInterval(this.tick);
    if (this.timer) clearTimeout(this.timer);
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.settings.shutdownGraceMs)));
      await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
      clearTimeout(timer);
    }
    this.client.interrupt();
    await Promise.allSettled([...this.inFlight]);
    this.flush();
    // Held in memory, never sent: waiting in webhooks.db for the next start (which would also find them 'sending').
    for (const id of [...this.queues.keys()]) this.drop(id);
    await this.client.close();
  }
}
