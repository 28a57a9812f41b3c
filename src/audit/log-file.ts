// The log as JSON lines, for auditors who take it elsewhere and replay it.
// Export writes a first line saying what the file holds ({"export": {format,
// store}}), one stored event per line in log order, and a last line with the
// number of events and the last position ({"end": {events, head}}). Import
// checks every line (shape, known type, data valid once upcast, event ids once,
// positions rising, stream revisions in sequence, and the write side's rules,
// by the statement ledger) and that no line is missing (the embedded store's
// positions run 1, 2, 3..., checked line by line; KurrentDB's are sparse, so
// the end line's count catches a line missing from them), and stops at the
// first bad line with its number, with nothing of it written: the embedded store
// writes the whole import in one transaction, and a store that cannot (KurrentDB)
// gets the file only once all of it has been checked (importLogFile). A log
// exported before these lines existed still imports, with a warning that a
// missing line goes unseen. The file is read as UTF-8 strictly and line by line
// with a bound on a line's length (linesOf), so a damaged file is refused at its
// line rather than read otherwise than it was written.
import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { z } from 'zod';
import type { StoredEvent } from '../../events/envelope.js';
import { upcast } from '../../events/registry.js';
import type { EventStore } from '../store/event-store.js';
import type { StoreSpec } from '../store/open-store.js';
import { CLOCK_SKEW_MS } from '../statements/clock-skew.js';
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

/** The version of the first and last lines' format; an import refuses a later one it cannot check. */
const FORMAT = 1;

const ExportHeader = z.object({ export: z.object({ format: z.number().int().positive(), store: z.enum(['sqlite', 'kurrentdb']) }).strict() }).strict();
const ExportEnd = z.object({ end: z.object({ events: z.number().int().min(0), head: z.number().int().min(0) }).strict() }).strict();

/**
 * The longest line an import reads, in bytes. No event the service writes comes near it
 * (a request body is at most 1 MB; a KurrentDB dispatch journal entry, the largest event
 * the service makes itself, about 2 MB), and a longer line would be held whole in memory
 * before it could be refused: past about 512 MB node cannot even make it a string.
 */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export class ImportLineError extends Error {
  override readonly name = 'ImportLineError';
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** Writes the log of `store` (of kind `kind`) as JSON lines to `out`; returns the number of events. */
export async function exportLog(store: EventStore, kind: StoreSpec['kind'], out: Writable, onProgress?: (position: number) => void): Promise<number> {
  const write = async (line: unknown) => {
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
  };
  await write({ export: { format: FORMAT, store: kind } });
  let count = 0;
  let head = 0;
  for (let after = 0; ; ) {
    const page = await store.readAll({ after, limit: 5_000 });
    if (page.length === 0) break;
    for (const event of page) {
      await write({
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
      count += 1;
    }
    after = head = page[page.length - 1].position;
    onProgress?.(after);
  }
  await write({ end: { events: count, head } });
  return count;
}

/** Every issue zod found, each with the path of its field: the first line of a ZodError's message names none. */
function describeIssues(error: z.ZodError, under?: string): string {
  return error.issues.map((issue) => `${[under, ...issue.path.map(String)].filter((p) => p !== undefined).join('.') || 'event'}: ${issue.message}`).join('; ');
}

const holds = (json: unknown, key: string) => typeof json === 'object' && json !== null && Object.hasOwn(json, key);

export interface ReadLogOptions {
  /** Told what cannot be checked, as a sentence: a log exported before it said what it holds. */
  warn?: (message: string) => void;
  /** This machine's clock: no event can have been recorded after it. */
  now?: () => Date;
}

/**
 * The lines of `file` as text, split at LF with a CR before it dropped (an export
 * moved through Windows). Each is decoded as UTF-8 that must be valid: a decoder that
 * put U+FFFD for a bad byte would import a quote otherwise than it was exported,
 * and the API refuses such text. A byte-order mark at the start of the file, which
 * editors on Windows add, is passed over. A line past MAX_LINE_BYTES is refused
 * before it is held whole.
 */
async function* linesOf(file: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let line = 1;
  let parts: Buffer[] = [];
  let bytes = 0;
  const text = () => {
    let bytesOfLine = Buffer.concat(parts, bytes);
    if (bytesOfLine.at(-1) === 13) bytesOfLine = bytesOfLine.subarray(0, -1);
    try {
      const decoded = decoder.decode(bytesOfLine);
      return line === 1 && decoded.startsWith('\uFEFF') ? decoded.slice(1) : decoded;
    } catch {
      throw new ImportLineError(line, 'not valid UTF-8: the file is damaged, or was saved in another encoding');
    }
  };
  const take = (piece: Buffer) => {
    bytes += piece.length;
    if (bytes > MAX_LINE_BYTES) throw new ImportLineError(line, `longer than ${MAX_LINE_BYTES / 1024 / 1024} MB: no event an export writes is that long`);
    parts.push(piece);
  };
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
      take(chunk.subarray(start, end));
      yield text();
      line += 1;
      parts = [];
      bytes = 0;
      start = end + 1;
    }
    if (start < chunk.length) take(chunk.subarray(start));
  }
  // A last line without its newline is a line all the same.
  if (bytes > 0) yield text();
}

/** Reads and checks a JSON-lines log; throws ImportLineError at the first bad line. */
export async function* readLogFile(file: string, { warn, now = () => new Date() }: ReadLogOptions = {}): AsyncGenerator<StoredEvent> {
  // A store sets recordedAt as it appends, so none is later than now, give or take two machines' clocks.
  // One later would move the read model's "today" to its day, and every position with it.
  const latest = now().getTime() + CLOCK_SKEW_MS;
  const lines = linesOf(file);
  const revisions = new Map<string, number>();
  // Event ids seen, with their line: a second one is named here, not by the store's constraint afterwards.
  const eventLines = new Map<string, number>();
  // What the write side would have known at each line: a log it could not have written is refused.
  const ledger = emptyLedger();
  // The positions of the last two events, with their lines, to tell which line is out of order.
  let last = { position: 0, line: 0, recordedAt: 0 };
  let beforeLast = { position: 0, line: 0, recordedAt: 0 };
  // What the first line says the export holds; without it (an older export) a missing line goes unseen.
  let header: z.infer<typeof ExportHeader>['export'] | undefined;
  let endLine = 0;
  let warnedOfGap = false;
  let events = 0;
  let lineNumber = 0;
  let nonEmpty = 0;
  for await (const text of lines) {
    lineNumber += 1;
    if (text.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ImportLineError(lineNumber, 'not valid JSON');
    }
    if (endLine > 0) throw new ImportLineError(lineNumber, `nothing may follow the end line (line ${endLine})`);
    const first = (nonEmpty += 1) === 1;
    if (holds(json, 'export')) {
      if (!first) throw new ImportLineError(lineNumber, "only an export's first line says what it holds: two exports joined?");
      const parsed = ExportHeader.safeParse(json);
      if (!parsed.success) throw new ImportLineError(lineNumber, describeIssues(parsed.error));
      if (parsed.data.export.format > FORMAT) throw new ImportLineError(lineNumber, `export format ${parsed.data.export.format} is newer than this code reads (${FORMAT})`);
      header = parsed.data.export;
      continue;
    }
    if (first) warn?.(`line ${lineNumber} does not say what the log holds (it was exported before exports did): a line missing from it cannot be detected`);
    if (holds(json, 'end')) {
      const end = ExportEnd.safeParse(json);
      if (!end.success) throw new ImportLineError(lineNumber, describeIssues(end.error));
      if (!header) throw new ImportLineError(lineNumber, 'an end line, but the first line does not say what the export holds: it is missing');
      const said = end.data.end;
      if (said.events !== events || said.head !== last.position) {
        const what = events < said.events ? 'lines are missing' : 'there are lines the export did not write';
        throw new ImportLineError(lineNumber, `the end line says ${said.events} events up to position ${said.head}, but ${events} were read, up to ${last.position}: ${what}`);
      }
      endLine = lineNumber;
      continue;
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
    if (Date.parse(event.recordedAt) > latest) {
      throw new ImportLineError(lineNumber, `recordedAt ${event.recordedAt} is later than this machine's clock (${new Date(latest - CLOCK_SKEW_MS).toISOString()}): a store sets it as it appends, so the line was changed, or one of the two clocks is wrong`);
    }
    const earlier = eventLines.get(event.eventId);
    if (earlier !== undefined) throw new ImportLineError(lineNumber, `event id ${event.eventId} is already on line ${earlier}`);
    eventLines.set(event.eventId, lineNumber);
    if (header?.store === 'sqlite' && event.position !== last.position + 1) {
      // The embedded store numbers its events 1, 2, 3...: a line that breaks the run is the one to blame.
      throw new ImportLineError(lineNumber, `position ${event.position} where ${last.position + 1} was expected: the embedded store numbers its events 1, 2, 3..., so a line is missing here or out of order`);
    }
    if (!header && event.position !== last.position + 1 && warn && !warnedOfGap) {
      warnedOfGap = true;
      warn(`positions skip from ${last.position} to ${event.position} at line ${lineNumber}: if the log came from the embedded store, which numbers its events 1, 2, 3..., a line is missing there`);
    }
    if (event.position <= last.position) {
      // If this line follows the one before the last, the last line is the one out of order
      // (line 10 at 1000 between 9 and 11), not this one.
      if (event.position > beforeLast.position) {
        const before = beforeLast.line > 0 ? `the line before it is at ${beforeLast.position}, ` : '';
        throw new ImportLineError(last.line, `position ${last.position} is out of order: ${before}the line after it at ${event.position}`);
      }
      throw new ImportLineError(lineNumber, `position ${event.position} does not follow ${last.position}`);
    }
    const recordedAt = Date.parse(event.recordedAt);
    if (header?.store === 'sqlite' && recordedAt < last.recordedAt) {
      // The embedded store never records an event earlier than the one before it (the read model's
      // "today" follows it), so a time that goes back is a changed line: as with positions, if this
      // line follows the one before the last, the last line is the one to blame.
      const lastIsOdd = beforeLast.line > 0 && recordedAt >= beforeLast.recordedAt;
      const [blamed, time, neighbour] = lastIsOdd ? [last.line, last.recordedAt, `the line after it at ${new Date(recordedAt).toISOString()}`] : [lineNumber, recordedAt, `the line before it at ${new Date(last.recordedAt).toISOString()}`];
      throw new ImportLineError(
        blamed,
        `recordedAt ${new Date(time).toISOString()} is out of order with ${neighbour}: the embedded store never records an event earlier than the one before it, so a line was changed`,
      );
    }
    const expected = (revisions.get(event.streamId) ?? -1) + 1;
    if (event.streamRevision !== expected) {
      throw new ImportLineError(lineNumber, `${event.streamId} revision ${event.streamRevision} where ${expected} was expected`);
    }
    revisions.set(event.streamId, expected);
    const refused = admit(ledger, { ...event, data }, warn && ((message) => warn(`line ${lineNumber}: ${message}`)));
    if (refused) throw new ImportLineError(lineNumber, refused);
    beforeLast = last;
    last = { position: event.position, line: lineNumber, recordedAt };
    events += 1;
    yield event;
  }
  // Nothing at all is no log: an export has its first and end lines even of an empty store, so
  // this is a failed export or a wrong file, not a log that happened to be empty.
  if (nonEmpty === 0) throw new ImportLineError(1, 'the file is empty: an export has at least its first line and its end line');
  if (header && endLine === 0) throw new ImportLineError(lineNumber + 1, 'the end line is missing: the log is cut short');
}

export interface ImportLogOptions extends ReadLogOptions {
  /** The events written so far. */
  onProgress?: (written: number) => void;
  /** Told when a store that cannot write all or nothing has had the whole file checked, before it writes. */
  onChecked?: (events: number) => void;
}

/**
 * Imports a log file into `store`, stopping at the first bad line (ImportLineError)
 * with nothing of it written. The embedded store gets that from its transaction;
 * a store that writes stream by stream (KurrentDB) gets the file only after every
 * line has been read and checked, so a bad line, or a missing end, is found before
 * the first write. Only a failure of the store itself can then leave part of it.
 */
export async function importLogFile(store: EventStore, file: string, { warn, onProgress, onChecked }: ImportLogOptions = {}): Promise<number> {
  if (!store.atomicImport) {
    let events = 0;
    for await (const _ of readLogFile(file, { warn })) events += 1;
    onChecked?.(events);
    // Read again to write: warnings were given on the first reading.
    return store.importEvents(readLogFile(file), onProgress);
  }
  return store.importEvents(readLogFile(file, { warn }), onProgress);
}
