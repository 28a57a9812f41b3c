import { z } from 'zod';
import { CountryCode, DatePrecision, Day, DayOrInstant, FreeText, Scope, Source, Speaker, Stance, StatementId } from './vocabulary.js';

/** One reported claim about one country's policy. Version 2: `speaker` is an object and `sources` a list. */
export const StatementRecorded = z
  .object({
    statementId: StatementId,
    country: CountryCode,
    stance: Stance,
    scope: Scope.default({}),
    speaker: Speaker,
    sources: z.array(Source).min(1).max(50),
    effectiveAt: Day,
    datePrecision: DatePrecision.default('day'),
    reportedAt: DayOrInstant,
    notes: FreeText.max(5_000).optional(),
    supersedes: StatementId.optional(),
  })
  .strict();
export type StatementRecorded = z.infer<typeof StatementRecorded>;

/**
 * Version 1 kept the speaker as three flat fields and had a single `source`.
 * Events written in that shape stay readable through the upcaster below.
 */
export const StatementRecordedV1 = z.object({
  statementId: StatementId,
  country: CountryCode,
  stance: Stance,
  scope: Scope.default({}),
  speakerName: z.string().optional(),
  speakerRole: z.string().optional(),
  attribution: z.string(),
  source: z.unknown(),
  effectiveAt: Day,
  datePrecision: DatePrecision.default('day'),
  reportedAt: DayOrInstant,
  notes: z.string().optional(),
});

export function upcastStatementRecordedV1(data: unknown): unknown {
  const v1 = StatementRecordedV1.parse(data);
  const { speakerName, speakerRole, attribution, source, ...rest } = v1;
  return {
    ...rest,
    speaker: { name: speakerName, role: speakerRole, attribution },
    sources: [source],
  };
}
