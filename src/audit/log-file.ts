// The log as JSON lines, for auditors who take it elsewhere and replay it.
// Export writes one stored event per line, in log order. Import checks every
// line (shape, known type, data valid once upcast, event ids once, positions
// rising, stream revisions in sequence, and the write side's rules, by the
// statement ledger) and stops at the first bad one with its line number; the
// store writes the whole import in one transaction, so nothing is half-written.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { z } from 'zod';
import type { StoredEvent } from '../../events/envelope.js';
import { upcast } from '../../events/registry.js';
import type { EventStore } from '../store/event-store.js';
import { admit, emptyLedger } from '../statements/statement-ledger.js';

const ExportedEvent = z
  .object({
    position: z.number().int().positive(),
    eventId: z.string().min(1).max(100),
    streamId: z.string().min(1).max(200),
    streamRevision: z.number().int().min(0),
    type: z.string().min(1),
    schemaVersion: z.number().int().positive(),
    data: z.unknown(),
    metadata: z.record(z.string(), z.unknown()),
    recordedAt: z.iso.datetime({ offset: true }),
  })
  .strict();

export class ImportLineError extends Error {
  override readonly name = 'ImportLineError';
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

export async function exportLog(store: EventStore, out: Writable, onProgress?: (position: number) => void): Promise<number> {
  let count = 0;
  for (let after = 0; ; ) {
    const page = await store.readAll({ after, limit: 5_000 });
    if (page.length === 0) break;
    for (const event of page) {
      const line = JSON.stringify({
        position: event.position,
        eventId: event.eventId,
        streamId: event.streamId,
        streamRevision: event.streamRevision,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: event.data,
        metadata: event.metadata,
        recordedAt: event.recordedAt,
      });
      if (!out.write(`${line}\n`)) await once(out, 'drain');
      count += 1;
    }
    after = page[page.length - 1].position;
    onProgress?.(after);
  }
  return count;
}

/** Every issue zod found, each with the path of its field: the first line of a ZodError's message names none. */
function describeIssues(error: z.ZodError, under?: string): string {
  return error.issues.map((issue) => `${[under, ...issue.path.map(String)].filter((p) => p !== undefined).join('.') || 'event'}: ${issue.message}`).join('; ');
}

/** Reads and checks a JSON-lines log; throws ImportLineError at the first bad line. */
export async function* readLogFile(file: string): AsyncGenerator<StoredEvent> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  const revisions = new Map<string, number>();
  // Event ids seen, with their line: a second one is named here, not by the store's constraint afterwards.
  const eventLines = new Map<string, number>();
  // What the write side would have known at each line: a log it could not have written is refused.
  const ledger = emptyLedger();
  // The positions of the last two events, with their lines, to tell which line is out of order.
  let last = { position: 0, line: 0 };
  let beforeLast = { position: 0, line: 0 };
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber += 1;
    if (text.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ImportLineError(lineNumber, 'not valid JSON');
    }
    const parsed = ExportedEvent.safeParse(json);
    if (!parsed.success) throw new ImportLineError(lineNumber, describeIssues(parsed.error));
    const event = parsed.data as StoredEvent;
    let data: unknown;
    try {
      data = upcast(event.type, event.schemaVersion, event.data);
    } catch (error) {
      const why = error instanceof z.ZodError ? describeIssues(error, 'data') : error instanceof Error ? error.message : String(error);
      throw new ImportLineError(lineNumber, `${event.type} data is not valid: ${why}`);
    }
    const earlier = eventLines.get(event.eventId);
    if (earlier !== undefined) throw new ImportLineError(lineNumber, `event id ${event.eventId} is already on line ${earlier}`);
    eventLines.set(event.eventId, lineNumber);
    if (event.position <= last.position) {
      // If this line follows the one before the last, the last line is the one out of order
      // (line 10 at 1000 between 9 and 11), not this one.
      if (event.position > beforeLast.position) {
        const before = beforeLast.line > 0 ? `the line before it is at ${beforeLast.position}, ` : '';
        throw new ImportLineError(last.line, `position ${last.position} is out of order: ${before}the line after it at ${event.position}`);
      }
      throw new ImportLineError(lineNumber, `position ${event.position} does not follow ${last.position}`);
    }
    const expected = (revisions.get(event.streamId) ?? -1) + 1;
    if (event.streamRevision !== expected) {
      throw new ImportLineError(lineNumber, `${event.streamId} revision ${event.streamRevision} where ${expected} was expected`);
    }
    revisions.set(event.streamId, expected);
    const refused = admit(ledger, { ...event, data });
    if (refused) throw new ImportLineError(lineNumber, refused);
    beforeLast = last;
    last = { position: event.position, line: lineNumber };
    yield event;
  }
}
