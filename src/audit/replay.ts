// Replay and audit: rebuild every projection from the first event into a fresh
// read model, bring it to the same log position and day as the live one, and
// compare. Equal fingerprints mean equal content; when they differ, every
// differing row is reported as a readable diff.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReadModel, type Checkpoint, type Fingerprint } from '../read-model/read-model.js';
import type { EventStore } from '../store/event-store.js';
import { diffReadModels } from './diff.js';

export interface ReplayReport {
  eventsReplayed: number;
  seconds: number;
  eventsPerSecond: number;
  position: number;
  today: string | null;
  live: Pick<Fingerprint, 'fingerprint'>;
  replay: Pick<Fingerprint, 'fingerprint'>;
  /** Empty when the replay matches the live read model. */
  differences: string[];
}

export interface ReplayOptions {
  /** The live read model is another connection's (a worker, the CLI): compare it inside a read snapshot. */
  liveIsAnotherConnection?: boolean;
  /** Called after each page with the events replayed so far and the target position. */
  onProgress?: (replayed: number, target: number) => void;
  pageSize?: number;
}

/** Applies the log to `target` from its checkpoint up to `position`, and not past it. */
export async function catchUp(store: EventStore, target: ReadModel, position: number, options: ReplayOptions = {}): Promise<number> {
  let replayed = 0;
  for (let after = target.checkpoint().position; after < position; ) {
    const read = await store.readAll({ after, limit: Math.min(options.pageSize ?? 5_000, position - after) });
    // Positions are sparse on KurrentDB (byte offsets): a page of `position - after` events can run past `position`.
    const page = read.filter((event) => event.position <= position);
    if (page.length === 0) break;
    // Changes are stored; they are kept and emitted only for whoever listens to this read model.
    target.apply(page, { changes: target.events.listenerCount('changes') > 0 });
    replayed += page.length;
    after = page[page.length - 1].position;
    options.onProgress?.(after, position);
    // Let requests in between pages: a rebuild runs beside a service that keeps serving.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return replayed;
}

export async function replayAndCompare(store: EventStore, live: ReadModel, options: ReplayOptions = {}): Promise<ReplayReport> {
  const dir = mkdtempSync(path.join(tmpdir(), 'policy-state-replay-'));
  const fresh = new ReadModel(path.join(dir, 'replay.db'), { version: live.version, scratch: true });
  try {
    const started = performance.now();
    let replayed = 0;
    // The live model may move on while we replay: chase it until both stand at about the same
    // position (reading its checkpoint from the file: it may be another thread's or process's).
    for (;;) {
      const target = live.checkpoint(true).position;
      replayed += await catchUp(store, fresh, target, options);
      if (live.checkpoint(true).position === target) break;
    }
    // Both fingerprints from the rows themselves: the recorded one would not see a row changed behind our back.
    const compareAt = (at: Checkpoint) => {
      if (at.today) fresh.advanceTo(at.today);
      const liveFingerprint = live.recomputeFingerprint();
      const replayFingerprint = fresh.recomputeFingerprint();
      const differences = liveFingerprint === replayFingerprint ? [] : diffReadModels(live, fresh);
      return { at, liveFingerprint, replayFingerprint, differences: differences.length === 0 && liveFingerprint !== replayFingerprint ? ['the fingerprints differ but no row does'] : differences };
    };
    // Compare against one consistent state of the live model. In this process nothing moves
    // between here and the comparison: no await. Against another connection (a worker, the
    // CLI), inside one read transaction, a snapshot of the file, catching up the last few
    // events inside it.
    const compared = options.liveIsAnotherConnection
      ? await live.readSnapshot(async () => {
          const at = live.checkpoint(true);
          replayed += await catchUp(store, fresh, at.position, options);
          return compareAt(at);
        })
      : compareAt(live.checkpoint(true));
    const seconds = (performance.now() - started) / 1000;
    return {
      eventsReplayed: replayed,
      seconds,
      eventsPerSecond: seconds > 0 ? Math.round(replayed / seconds) : replayed,
      position: compared.at.position,
      today: compared.at.today,
      live: { fingerprint: compared.liveFingerprint },
      replay: { fingerprint: compared.replayFingerprint },
      differences: compared.differences,
    };
  } finally {
    fresh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The fingerprint a fresh replay of the log up to `position` gives, rolled to `today`. */
export async function replayFingerprint(store: EventStore, position: number, today: string | null, version?: string): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'policy-state-replay-'));
  const fresh = new ReadModel(path.join(dir, 'replay.db'), { version, scratch: true });
  try {
    await catchUp(store, fresh, position);
    if (today) fresh.advanceTo(today);
    return fresh.fingerprintAt().fingerprint;
  } finally {
    fresh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
