// Replay and audit: rebuild every projection from the first event into a fresh
// read model, bring it to the same log position and day as the live one, and
// compare. Equal fingerprints mean equal content; when they differ, every
// differing row is reported as a readable diff. Where there is no live read
// model to compare with (a log imported elsewhere), a replay to a position
// gives the fingerprint there, to compare with the original service's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReadModel, type Checkpoint, type Fingerprint } from '../read-model/read-model.js';
import type { EventStore } from '../store/event-store.js';
import { diffReadModels } from './diff.js';
import { compareEndpoints, endpointEventsOf } from './endpoint-audit.js';
import type { StoredEvent } from '../../events/envelope.js';

/** Where a replay stopped, and the fingerprint of what it built there. */
export interface ReplayFingerprint {
  eventsReplayed: number;
  seconds: number;
  eventsPerSecond: number;
  /**
   * The log's head position when the replay began, or the position compared at if the live read
   * model passed it meanwhile: `position` below it means the replay did not cover the whole log.
   */
  head: number;
  /** The log position the replay was brought to (when compared, the live read model's). */
  position: number;
  /** The day the replay was rolled to. */
  today: string | null;
  /** The projection version the replay was built with: fingerprints compare only between equal versions. */
  projectionVersion: string;
  replay: Pick<Fingerprint, 'fingerprint'>;
}

export interface ReplayReport extends ReplayFingerprint {
  live: Pick<Fingerprint, 'fingerprint'>;
  /** Empty when the replay matches the live read model. */
  differences: string[];
}

export interface ReplayOptions {
  /** The live read model is another connection's (a worker, the CLI): compare it inside a read snapshot. */
  liveIsAnotherConnection?: boolean;
  /** Called after each page with the events replayed so far and the target position. */
  onProgress?: (replayed: number, target: number) => void;
  pageSize?: number;
  /** The live webhook state (DATA_DIR/webhooks.db): its endpoints are compared with the ones the log makes. */
  webhooksFile?: string;
}

/** Applies the log to `target` from its checkpoint up to `position`, and not past it; `seen` gets each page applied. */
export async function catchUp(store: EventStore, target: ReadModel, position: number, options: ReplayOptions & { seen?: (page: StoredEvent[]) => void } = {}): Promise<number> {
  let replayed = 0;
  for (let after = target.checkpoint().position; after < position; ) {
    const read = await store.readAll({ after, limit: Math.min(options.pageSize ?? 5_000, position - after) });
    // Positions are sparse on KurrentDB (byte offsets): a page of `position - after` events can run past `position`.
    const page = read.filter((event) => event.position <= position);
    if (page.length === 0) break;
    // Changes are stored; they are kept and emitted only for whoever listens to this read model.
    target.apply(page, { changes: target.events.listenerCount('changes') > 0 });
    options.seen?.(page);
    replayed += page.length;
    after = page[page.length - 1].position;
    options.onProgress?.(after, position);
    // Let requests in between pages: a rebuild runs beside a service that keeps serving.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return replayed;
}

/** A scratch read model in a temp dir for `work`, removed afterwards. */
async function withFreshReadModel<T>(version: string | undefined, work: (fresh: ReadModel) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'policy-state-replay-'));
  const fresh = new ReadModel(path.join(dir, 'replay.db'), { version, scratch: true });
  try {
    return await work(fresh);
  } finally {
    fresh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function timing(replayed: number, started: number): Pick<ReplayFingerprint, 'eventsReplayed' | 'seconds' | 'eventsPerSecond'> {
  const seconds = (performance.now() - started) / 1000;
  return { eventsReplayed: replayed, seconds, eventsPerSecond: seconds > 0 ? Math.round(replayed / seconds) : replayed };
}

export async function replayAndCompare(store: EventStore, live: ReadModel, options: ReplayOptions = {}): Promise<ReplayReport> {
  const started = performance.now();
  const head = await store.headPosition();
  // Webhook endpoints are not in the read model: their events are kept (they are few) and folded once the position is known.
  const endpointEvents: StoredEvent[] = [];
  const applying = { ...options, seen: (page: StoredEvent[]) => endpointEvents.push(...endpointEventsOf(page)) };
  return withFreshReadModel(live.version, async (fresh) => {
    let replayed = 0;
    // The live model may move on while we replay: chase it until both stand at about the same
    // position (reading its checkpoint from the file: it may be another thread's or process's).
    for (;;) {
      const target = live.checkpoint(true).position;
      replayed += await catchUp(store, fresh, target, applying);
      if (live.checkpoint(true).position === target) break;
    }
    // Both fingerprints from the rows themselves: the recorded one would not see a row changed behind our back.
    const compareAt = (at: Checkpoint) => {
      if (at.today) fresh.advanceTo(at.today);
      const liveFingerprint = live.recomputeFingerprint();
      const replayFingerprint = fresh.recomputeFingerprint();
      const differences = liveFingerprint === replayFingerprint ? [] : diffReadModels(live, fresh);
      if (differences.length === 0 && liveFingerprint !== replayFingerprint) differences.push('the fingerprints differ but no row does');
      if (options.webhooksFile) differences.push(...compareEndpoints(endpointEvents, options.webhooksFile, at.position));
      return { at, liveFingerprint, replayFingerprint, differences };
    };
    // Compare against one consistent state of the live model. In this process nothing moves
    // between here and the comparison: no await. Against another connection (a worker, the
    // CLI), inside one read transaction, a snapshot of the file, catching up the last few
    // events inside it.
    const compared = options.liveIsAnotherConnection
      ? await live.readSnapshot(async () => {
          const at = live.checkpoint(true);
          replayed += await catchUp(store, fresh, at.position, applying);
          return compareAt(at);
        })
      : compareAt(live.checkpoint(true));
    return {
      ...timing(replayed, started),
      // Events written during the replay were compared too: the head was at least there.
      head: Math.max(head, compared.at.position),
      position: compared.at.position,
      today: compared.at.today,
      projectionVersion: fresh.version,
      live: { fingerprint: compared.liveFingerprint },
      replay: { fingerprint: compared.replayFingerprint },
      differences: compared.differences,
    };
  });
}

export interface ReplayToOptions extends Omit<ReplayOptions, 'liveIsAnotherConnection'> {
  /** The log position to stop at; the head when the replay begins if not given. */
  position?: number;
  /** The day to roll to once there (a service rolls its day at midnight, with or without events), if later than the log's. */
  today?: string;
  version?: string;
}

/**
 * A fresh replay of the log up to a position, rolled to a day: its fingerprint is the
 * one a service that applied the same log records at that position and day
 * (GET /v1/audit/fingerprint?position=N names both).
 */
export async function replayTo(store: EventStore, options: ReplayToOptions = {}): Promise<ReplayFingerprint> {
  const started = performance.now();
  const head = await store.headPosition();
  const position = options.position ?? head;
  if (position > head) throw new RangeError(`position ${position} is past the log's head at ${head}`);
  return withFreshReadModel(options.version, async (fresh) => {
    const replayed = await catchUp(store, fresh, position, options);
    const reached = fresh.checkpoint().today;
    if (options.today && reached && options.today < reached) {
      throw new RangeError(`the log had reached day ${reached} by position ${position}: a replay cannot be rolled back to ${options.today}`);
    }
    if (options.today) fresh.advanceTo(options.today);
    return {
      ...timing(replayed, started),
      head,
      position,
      today: fresh.checkpoint().today,
      projectionVersion: fresh.version,
      replay: { fingerprint: fresh.fingerprintAt().fingerprint },
    };
  });
}

/** The fingerprint a fresh replay of the log up to `position` gives, rolled to `today`. */
export async function replayFingerprint(store: EventStore, position: number, today: string | null, version?: string): Promise<string> {
  return (await replayTo(store, { position, today: today ?? undefined, version })).replay.fingerprint;
}
