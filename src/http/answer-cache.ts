// Serialised answers of GET /v1/countries/{code}/position, kept so a repeated
// question is answered without deriving, building the view and serialising
// again. An answer depends on:
//
// - the question, after defaults are resolved: country, `at` (today when
//   absent, so a new day asks a new question), `knownAt` and `position`;
// - the read model: the country's statements, its stream revision, and the
//   checkpoint (`basis.position` when no `position` is asked for). Every event
//   applied moves the checkpoint and emits 'applied'; a rebuilt read model
//   swapped in emits 'swapped'. Either empties the cache, and an entry is only
//   served while the checkpoint is the one it was built at;
// - the clock, when `knownAt` is absent (now): the answer names the instant and
//   counts what was reported by it. Such an entry keeps its body in three
//   parts around the two places that instant is written, and holds from the
//   instant it was built until the next report, retraction or source date
//   after it in the country's record (up to 5 minutes ahead is accepted).
import type { EventEmitter } from 'node:events';
import type { CountryRecord } from '../../projections/statement-record.js';
import { instantOf } from '../../projections/time.js';

export interface CachedAnswer {
  etag: string;
  /** The whole body, when it does not depend on the clock. */
  body?: Buffer;
  /** The body around the two places `knownAt` is written, when it is now. */
  parts?: [Buffer, Buffer, Buffer];
  /** For a body in parts: the instants of now it holds for, [from, until). */
  from: number;
  until: number;
  /** The read model's checkpoint it was built at. */
  checkpoint: number;
  bytes: number;
  /** The last body completed from parts, kept for the requests of the same millisecond. */
  last?: { knownAt: string; body: Buffer };
}

export interface AnswerCacheOptions {
  /** Bodies kept, in bytes, at most; the oldest entries go first. */
  maxBytes: number;
  /** An answer larger than this is not kept. */
  maxEntryBytes: number;
}

export const DEFAULT_ANSWER_CACHE: AnswerCacheOptions = { maxBytes: 32 * 2 ** 20, maxEntryBytes: 4 * 2 ** 20 };

export class AnswerCache {
  private readonly entries = new Map<string, CachedAnswer>();
  private bytes = 0;
  private readonly clear = () => {
    this.entries.clear();
    this.bytes = 0;
  };

  constructor(
    private readonly events: EventEmitter,
    private readonly options: AnswerCacheOptions = DEFAULT_ANSWER_CACHE,
  ) {
    events.on('applied', this.clear);
    events.on('swapped', this.clear);
  }

  /** The answer to `key` if it still holds at `checkpoint` and, for an answer as known now, at `now`. */
  get(key: string, checkpoint: number, now: number): CachedAnswer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.checkpoint !== checkpoint) return undefined;
    if (entry.parts !== undefined && (now < entry.from || now >= entry.until)) return undefined;
    return entry;
  }

  set(key: string, entry: CachedAnswer): void {
    if (entry.bytes > this.options.maxEntryBytes) return;
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.bytes -= previous.bytes;
    }
    for (const [oldest, evicted] of this.entries) {
      if (this.bytes + entry.bytes <= this.options.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= evicted.bytes;
    }
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  close(): void {
    this.events.off('applied', this.clear);
    this.events.off('swapped', this.clear);
    this.clear();
  }
}

/** The body of an answer as known at `knownAt` (as JSON text, without quotes). */
export function bodyOf(answer: CachedAnswer, knownAt: string): Buffer {
  if (answer.body !== undefined) return answer.body;
  if (answer.last?.knownAt === knownAt) return answer.last.body;
  const [head, middle, tail] = answer.parts!;
  const body = Buffer.allocUnsafe(head.length + middle.length + tail.length + 2 * knownAt.length);
  let at = head.copy(body, 0);
  at += body.write(knownAt, at, 'latin1');
  at += middle.copy(body, at);
  at += body.write(knownAt, at, 'latin1');
  tail.copy(body, at);
  // Bodies are never written to once sent, so the same one can answer again.
  answer.last = { knownAt, body };
  return body;
}

/**
 * The first instant after `now` at which something in the record becomes known
 * (a statement or retraction reported, a source published): until then an
 * answer as known now stays the same. Infinity when nothing is dated later.
 */
export function nextKnowledgeAfter(record: CountryRecord, now: number): number {
  let next = Number.POSITIVE_INFINITY;
  const consider = (dayOrInstant: string | undefined) => {
    if (dayOrInstant === undefined) return;
    const instant = instantOf(dayOrInstant);
    // An instant that does not parse is never cached around: the answer is built each time.
    if (Number.isNaN(instant)) next = now;
    else if (instant > now && instant < next) next = instant;
  };
  for (const s of record.statements) {
    consider(s.reportedAt);
    for (const source of s.sources) consider(source.publishedAt);
    if (s.retraction) {
      consider(s.retraction.reportedAt);
      consider(s.retraction.source?.publishedAt);
    }
  }
  return next;
}
