// Request and response schemas of the REST API, built from the event
// vocabulary. The same schemas validate, type the handlers and generate
// /openapi.json.
import { z } from 'zod';
import { StatementRecorded } from '../../events/statement-recorded.js';
import { EXCLUSION_REASONS } from '../../projections/position.js';
import { StatementRetracted } from '../../events/statement-retracted.js';
import { CHANGE_CURSOR } from '../read-model/change-cursor.js';
import { Attribution, CountryCode, DAY_OR_INSTANT, DatePrecision, Day, DayOrInstant, Instant, Scope, Source, Speaker, Stance, StatementId, toTheMillisecond } from '../../events/vocabulary.js';

/** The largest integer a query parameter takes: 15 decimal digits, as the document says. */
const MAX_QUERY_INTEGER = 999_999_999_999_999;

/** A query value, always text, as a number: plain decimal digits only, at most 15 of them, and at most `max`. */
function decimalDigits(value: unknown, ctx: z.core.$RefinementCtx, max: number): unknown {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && /^[0-9]{1,15}$/.test(value)) return Number(value);
  // More digits are digits all the same: the number is too big, not of the wrong form.
  const message = typeof value === 'string' && /^[0-9]+$/.test(value) ? `must be at most ${max}` : 'must be a whole number in plain decimal digits, e.g. "12"';
  ctx.addIssue({ code: 'custom', message, input: value });
  return z.NEVER;
}

/**
 * The one schema of every integer query parameter (a log position, a page
 * size), with that parameter's bounds and default. Coercing any text to a
 * number read "" and " " as 0, "0x1e" as 30 and "1e1" as 10; here each of
 * those is a 400 naming the parameter. /openapi.json shows an integer with its
 * bounds and default (the default sits inside the pipe so the document keeps it).
 */
export function QueryInteger(options: { min?: number; max?: number; default: number }): z.ZodPreprocess<z.ZodDefault<z.ZodNumber>>;
export function QueryInteger(options?: { min?: number; max?: number }): z.ZodPreprocess<z.ZodOptional<z.ZodNumber>>;
export function QueryInteger({ min = 0, max = MAX_QUERY_INTEGER, default: fallback }: { min?: number; max?: number; default?: number } = {}) {
  const number = z.number().int().min(min).max(max);
  const digits = (value: unknown, ctx: z.core.$RefinementCtx) => decimalDigits(value, ctx, max);
  return fallback === undefined ? z.preprocess(digits, number.optional()) : z.preprocess(digits, number.default(fallback));
}

export const CountryParams = z.object({ code: CountryCode });
export const StatementParams = z.object({ id: StatementId });

/**
 * A knowledge time in a query string. A `+` there is read as a space (form encoding), so
 * `knownAt=2024-05-29T12:00:00+02:00` arrives with " 02:00" for an offset: say how to write it.
 */
const KnownAt = toTheMillisecond(
  z.union([Day, Instant], {
    error: (issue) =>
      typeof issue.input === 'string' && / \d{2}(:?\d{2})?$/.test(issue.input)
        ? `${DAY_OR_INSTANT}; a "+" in a URL query is read as a space, so write a + offset as %2B (e.g. %2B02:00)`
        : DAY_OR_INSTANT,
  }),
);

const KNOWN_AT =
  'knowledge time: an instant, or a day meaning the end of that UTC day (default now). Write a + offset as %2B (2024-05-29T12:00:00%2B02:00): a bare + in a query reads as a space';

export const PositionQuery = z.object({
  at: Day.optional().describe('valid time: the day the position is asked for (default today, UTC)'),
  knownAt: KnownAt.optional().describe(KNOWN_AT),
  position: QueryInteger().describe('answer as the service would have after this log position'),
}).strict();

export const HistoryQuery = z.object({
  knownAt: KnownAt.optional().describe(KNOWN_AT),
}).strict();

const Limit = QueryInteger({ min: 1, max: 500, default: 100 });

export const StatementsQuery = z.object({
  country: CountryCode.optional(),
  from: Day.optional().describe('effective on or after this day'),
  to: Day.optional().describe('effective on or before this day; not before from (a 400)'),
  limit: Limit,
  cursor: z.string().regex(/^[0-9]{1,15}$/, 'must be a cursor returned by a previous page').optional(),
}).strict().superRefine((query, ctx) => {
  // Both ends are inclusive; swapped, the range holds no day, and an empty page would read as "nothing was said then".
  if (query.from !== undefined && query.to !== undefined && query.to < query.from) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: `must be on or after from (${query.from})`, input: query.to });
  }
});

export const AfterQuery = z.object({
  after: QueryInteger({ default: 0 }).describe('log position to read after'),
  limit: Limit,
}).strict();

/**
 * A log position, or a change-feed cursor `<position>@<day>` (change-cursor.ts); parsed with parseCursor.
 * One message for what is wrong: a position of more digits than any is too big, as for an integer
 * query parameter, not of the wrong form; and a day only of the right form can fail to exist.
 */
export const ChangeCursorText = z
  .string()
  .refine((text) => !/^[0-9]{16,}(@|$)/.test(text), { message: `must be at most ${MAX_QUERY_INTEGER}`, abort: true })
  .regex(CHANGE_CURSOR, { message: 'must be a log position in plain decimal digits, e.g. "12", or the nextAfter of a page, e.g. "12@2024-06-01"', abort: true })
  .refine((text) => Day.safeParse(text.split('@')[1] ?? '2000-01-01').success, 'names a day that does not exist');

export const ChangesQuery = z.object({
  after: ChangeCursorText.default('0').describe(
    'a log position to read after, or the nextAfter of the page before: "<position>@<day>". The changes of a new day carry the log position of the last event before it, so a reader that pages by position alone would miss them; the cursor says which day that position was read through.',
  ),
  limit: Limit.describe('how many changes a page holds, about: a page never ends inside the changes of one log position and day (the cursor could not resume there), so it may hold a few more'),
}).strict();

export const Status = z.enum(['unknown', 'prohibited', 'restricted', 'unrestricted']);

const SourceView = Source;
// A report behind a statement, in requests and answers alike: named for /openapi.json's components
// (Source as answered, SourceInput as sent), as Problem and Statement are.
z.globalRegistry.add(Source, { ...z.globalRegistry.get(Source), id: 'Source' });

export const StatementView = z
  .object({
    statementId: StatementId,
    country: CountryCode,
    stance: Stance,
    scope: Scope,
    speaker: Speaker,
    sources: z.array(SourceView),
    effectiveAt: Day,
    datePrecision: DatePrecision,
    reportedAt: DayOrInstant,
    notes: z.string().optional(),
    supersedes: StatementId.optional(),
    position: z.number().int(),
    recordedAt: z.string(),
    retraction: z
      .object({ reason: z.string(), reportedAt: DayOrInstant, source: Source.optional(), position: z.number().int(), recordedAt: z.string() })
      .nullable(),
  })
  .meta({ id: 'Statement', description: 'A statement as recorded, with its sources, and its retraction if it was retracted' });

export const WeaponStatusView = z.object({
  system: z.string(),
  status: Status.exclude(['unknown']),
  statementId: StatementId,
});

export const ConfidenceView = z.object({ attribution: Attribution, sources: z.number().int() });

export const ExclusionReason = z.enum(EXCLUSION_REASONS);

export const PositionView = z.object({
  country: CountryCode,
  name: z.string().optional(),
  at: Day,
  knownAt: z.string(),
  status: Status,
  scope: Scope.nullable(),
  weapons: z.array(WeaponStatusView).describe('systems named by a statement; systems never named follow the headline status'),
  underReview: z.boolean(),
  endorsesLifting: z.boolean(),
  confidence: ConfidenceView.nullable(),
  deciding: StatementView.nullable(),
  basis: z.object({
    at: Day,
    knownAt: z.string(),
    position: z.number().int().describe('the log position the answer was computed at'),
    decidingStatementId: StatementId.nullable(),
    underReviewStatementId: StatementId.nullable().describe('the reviewing statement that makes underReview true (newer than the deciding one); null when it is false'),
    endorsesLiftingStatementId: StatementId.nullable().describe('the endorsing statement that makes endorsesLifting true; null when it is false'),
    others: z.array(
      z.object({
        statementId: StatementId,
        stance: Stance,
        attribution: Attribution,
        effectiveAt: Day,
        reportedAt: DayOrInstant,
        reason: ExclusionReason,
      }),
    ),
  }),
  revision: z.number().int().describe('the country stream revision; send it as If-Match to write against this state'),
});

export const IntervalView = z.object({
  from: Day,
  to: Day.nullable(),
  status: Status,
  scope: Scope.nullable(),
  weapons: z.array(WeaponStatusView),
  underReview: z.boolean(),
  endorsesLifting: z.boolean(),
  decidingStatementId: StatementId.nullable().describe('the statement that decides the first day of the interval: the one that brought its position in'),
  restatedBy: z
    .array(StatementId)
    .describe('the later statements that said the same again within the interval, each deciding the days from its own effective day on, in valid-time order; empty when the first decides every day'),
});

export const HistoryView = z.object({
  country: CountryCode,
  name: z.string().optional(),
  knownAt: z.string(),
  intervals: z.array(IntervalView),
  statements: z.array(StatementView),
});

export const CountriesView = z.object({
  countries: z.array(
    z.object({
      code: CountryCode,
      name: z.string().optional(),
      status: Status,
      since: Day.nullable(),
      underReview: z.boolean(),
      endorsesLifting: z.boolean(),
      decidingStatementId: StatementId.nullable(),
      statements: z.number().int(),
      revision: z.number().int(),
    }),
  ),
});

export const StatementPage = z.object({ items: z.array(StatementView), nextCursor: z.string().nullable() });

export const ChangeView = z.object({
  id: z.string(),
  type: z.enum(['position.changed', 'history.revised', 'statement.recorded', 'statement.retracted']),
  country: CountryCode,
  position: z.number().int(),
  recordedAt: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export const ChangePage = z.object({
  items: z.array(ChangeView),
  nextAfter: z.string().describe('the cursor to read the next page after: every change in this page and any before it, and none after'),
});

export const EventView = z.object({
  position: z.number().int(),
  eventId: z.string(),
  streamId: z.string(),
  streamRevision: z.number().int(),
  type: z.string(),
  schemaVersion: z.number().int(),
  recordedAt: z.string(),
  data: z.unknown(),
  metadata: z.record(z.string(), z.unknown()),
});
export const EventPage = z.object({ items: z.array(EventView), nextAfter: z.number().int() });

export const RecordStatementBody = StatementRecorded.extend({ statementId: StatementId.optional() });
export const RetractBody = StatementRetracted.omit({ statementId: true });
export const AttachSourceBody = z.object({ source: Source }).strict();

export const WriteResultView = z.object({
  statementId: StatementId,
  country: CountryCode,
  position: z.number().int(),
  revision: z.number().int(),
});

/**
 * Every 4xx and 5xx. Named (`id`), so /openapi.json holds it once, in components, and every
 * response refers to it: written out in each, it was 150 copies and nearly half the document.
 */
/** The body of a POST that takes none: no body, or {}; a field in it is a mistake worth saying, not ignoring. */
export const NoFieldsBody = z.object({}).strict().nullish().describe('takes no fields: send no body, or {}');

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'A problem document (RFC 9457); for bad input, `errors` names each field' });

/** If-Match as the ETag gives it: a revision, or -1 for a country with no events yet; quoted (also weak) or bare. */
const IF_MATCH = /^(?:W\/)?(?:"(-1|\d{1,15})"|(-1|\d{1,15}))$/;

/** What an If-Match header the schema accepted asks of the country stream: a revision, or that it has no events yet. */
export function expectedRevisionOf(ifMatch: string | undefined): number | 'no-stream' | undefined {
  const match = ifMatch === undefined ? null : IF_MATCH.exec(ifMatch);
  if (!match) return undefined;
  const revision = Number(match[1] ?? match[2]);
  return revision === -1 ? 'no-stream' : revision;
}

export const WriteHeaders = z.object({
  'idempotency-key': z.string().min(1).max(255).optional(),
  'if-match': z
    .string()
    .regex(IF_MATCH, 'must be a stream revision as the ETag gives it, e.g. "12", or "-1" for a country with no statements yet')
    .optional()
    .describe('the country revision (its ETag) the write is made against; "-1": only if the country has no statements yet'),
});
