// Replay and audit: rebuild every projection from the first event into a fresh
// read model, bring it to the same log position and day as the live one, and
// compare. Equal fingerprints mean equal content; when they differ, every
// differing row is reported as a readable diff.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReadModel, type Fingerprint } from '../read-model/read-model.js';
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
  /** Called after each page with the events replayed so far and the target position. */
  onProgress?: (replayed: number, target: number) => void;
  pageSize?: number;
}

/** Applies the log to `target` from its checkpoint up to `position`. */
export async function catchUp(store: EventStore, target: ReadModel, position: number, options: ReplayOptions = {}): Promise<number> {
  let replayed = 0;
  for (let after = target.checkpoint().position; after < position; ) {
    const page = await store.readAll({ after, limit: Math.min(options.pageSize ?? 5_000, position - after) });
    if (page.length === 0) break;
    target.apply(page);
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
  const fresh = new ReadModel(path.join(dir, 'replay.db'), { version: live.version });
  try {
    const started = performance.now();
    let replayed = 0;
    // The live model may move on while we replay; chase it until both stand at the
    // same position, then compare in one synchronous step so nothing moves in between.
    // (From the file each time: the live read model may be another process's.)
    for (;;) {
      const target = live.checkpoint(true).position;
      replayed += await catchUp(store, fresh, target, options);
      if (live.checkpoint(true).position === target) break;
    }
    const { position, today } = live.checkpoint(true);
    if (today) fresh.advanceTo(today);
    const seconds = (performance.now() - started) / 1000;
    // Both computed from the rows themselves: the recorded fingerprint would not see a row changed behind our back.
    const liveFingerprint = live.recomputeFingerprint();
    const replayFingerprint = fresh.recomputeFingerprint();
    const differences = liveFingerprint === replayFingerprint ? [] : diffReadModels(live, fresh);
    return {
      eventsReplayed: replayed,
      seconds,
      eventsPerSecond: seconds > 0 ? Math.round(replayed / seconds) : replayed,
      position,
      today,
      live: { fingerprint: liveFingerprint },
      replay: { fingerprint: replayFingerprint },
      differences: differences.length === 0 && liveFingerprint !== replayFingerprint ? ['the fingerprints differ but no row does'] : differences,
    };
  } finally {
    fresh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The fingerprint a fresh replay of the log up to `position` gives, rolled to `today`. */
export async function replayFingerprint(store: EventStore, position: number, today: string | null, version?: string): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'policy-state-replay-'));
  const fresh = new ReadModel(path.join(dir, 'replay.db'), { version });
  try {
    await catchUp(store, fresh, position);
    if (today) fresh.advanceTo(today);
    return fresh.fingerprintAt().fingerprint;
  } finally {
    fresh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
