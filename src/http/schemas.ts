// Request and response schemas of the REST API, built from the event
// vocabulary. The same schemas validate, type the handlers and generate
// /openapi.json.
import { z } from 'zod';
import { StatementRecorded } from '../../events/statement-recorded.js';
import { EXCLUSION_REASONS } from '../../projections/position.js';
import { StatementRetracted } from '../../events/statement-retracted.js';
import { Attribution, CountryCode, DatePrecision, Day, DayOrInstant, Scope, Source, Speaker, Stance, StatementId } from '../../events/vocabulary.js';

export const CountryParams = z.object({ code: CountryCode });
export const StatementParams = z.object({ id: StatementId });

export const PositionQuery = z.object({
  at: Day.optional().describe('valid time: the day the position is asked for (default today, UTC)'),
  knownAt: DayOrInstant.optional().describe('knowledge time: an instant, or a day meaning the end of that UTC day (default now)'),
  position: z.coerce.number().int().min(0).optional().describe('answer as the service would have after this log position'),
}).strict();

export const HistoryQuery = z.object({
  knownAt: DayOrInstant.optional(),
}).strict();

const Limit = z.coerce.number().int().min(1).max(500).default(100);

export const StatementsQuery = z.object({
  country: CountryCode.optional(),
  from: Day.optional().describe('effective on or after this day'),
  to: Day.optional().describe('effective on or before this day'),
  limit: Limit,
  cursor: z.string().regex(/^[0-9]{1,15}$/, 'must be a cursor returned by a previous page').optional(),
}).strict();

export const AfterQuery = z.object({
  after: z.coerce.number().int().min(0).default(0).describe('log position to read after'),
  limit: Limit,
}).strict();

export const Status = z.enum(['unknown', 'prohibited', 'restricted', 'unrestricted']);

const SourceView = Source;

export const StatementView = z.object({
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
});

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
  decidingStatementId: StatementId.nullable(),
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
export const ChangePage = z.object({ items: z.array(ChangeView), nextAfter: z.number().int() });

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

export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export const WriteHeaders = z.object({
  'idempotency-key': z.string().min(1).max(255).optional(),
  'if-match': z.string().regex(/^(W\/)?"?\d+"?$/, 'must be a stream revision, e.g. "12"').optional(),
});
