// The shared vocabulary of every event: countries, stances, scopes, speakers,
// sources and the three kinds of time. One zod schema per notion; the
// TypeScript types are inferred from them, never written twice.
import countries from 'i18n-iso-countries';
import en from 'i18n-iso-countries/langs/en.json' with { type: 'json' };
import { z } from 'zod';

countries.registerLocale(en);

// A field left out is said to be required, for every schema (events, requests, the import): zod's
// own "expected string, received undefined" leaves a reader to work that out. Schemas with an
// error of their own say it by `required` below.
const MISSING = 'is required';
const LEFT_OUT = new Set(['invalid_type', 'invalid_value', 'invalid_union']);
z.config({ customError: (issue) => (issue.input === undefined && LEFT_OUT.has(issue.code ?? '') ? MISSING : undefined) });

/** A schema's own error message, or MISSING when the field was left out. */
export const required = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? MISSING : message);

/** ISO 3166-1 alpha-2, upper case. Unknown codes are rejected. */
export const CountryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in upper case, e.g. "US"')
  .refine((code) => countries.isValid(code), { message: 'is not an ISO 3166-1 alpha-2 country code' });
export type CountryCode = z.infer<typeof CountryCode>;

export function countryName(code: string): string | undefined {
  return countries.getName(code, 'en') ?? undefined;
}

/**
 * The name a sentence uses: the first English name that is neither an abbreviation
 * ("UK") nor an index form ("The Republic of North Macedonia", "Taiwan, Province of
 * China"); for a country with only an index form, that form turned round ("Moldova,
 * Republic of": "Republic of Moldova"; "Holy See (Vatican City State)": "Holy See").
 */
export function countryNameInProse(code: string): string | undefined {
  const names = (countries.getName(code, 'en', { select: 'all' }) ?? []) as string[];
  const prose = names.find((name) => !/^[A-Z.]+$/.test(name) && !/[,(]/.test(name) && !/\bThe /.test(name));
  if (prose) return prose;
  const official = countryName(code);
  if (!official) return undefined;
  const [head, tail] = official.replace(/\s*\(.*\)$/, '').split(/,\s*/);
  return tail ? `${tail} ${head}` : head;
}

/**
 * A calendar day, `YYYY-MM-DD`, rejecting impossible dates such as 2024-02-30. A string of
 * another form is told what it takes: zod's own "Invalid ISO date" reads wrong for
 * `at=2024-05-30T12:00:00Z`, a valid ISO instant. (Not a string at all, zod says so.)
 */
export const Day = z.iso.date({
  error: (issue) => (issue.code === 'invalid_format' ? 'must be a day that exists, as YYYY-MM-DD (e.g. 2024-05-30), with no time' : undefined),
});
export type Day = z.infer<typeof Day>;

/** An instant with an explicit offset, e.g. `2024-05-30T14:00:00Z`. */
export const Instant = z.iso.datetime({ offset: true });

// The service keeps times to the millisecond (a JavaScript Date): a finer time would be compared
// as if cut to its millisecond, so a statement reported 0.9 ms after a knownAt would count at it.
// Refused on what is written from now on, as the free-text rule is (trailing zeros are no finer).
const FINER_THAN_A_MILLISECOND = /\.\d{3}\d*[1-9]/;
const TO_THE_MILLISECOND = 'is finer than a millisecond: give at most 3 decimal places of a second';

/** `schema` (a day or an instant) refusing an instant finer than a millisecond, but in what the log holds. */
export function toTheMillisecond<T extends z.ZodType<string>>(schema: T): T {
  return schema.refine((time) => readingStored > 0 || !FINER_THAN_A_MILLISECOND.test(time), TO_THE_MILLISECOND);
}

/** A day or an instant. A bare day means the start of that UTC day. */
export const DAY_OR_INSTANT = 'must be a day that exists (YYYY-MM-DD) or an ISO 8601 instant with its offset, e.g. 2024-05-30T14:00:00Z';
export const DayOrInstant = toTheMillisecond(z.union([Day, Instant], { error: required(DAY_OR_INSTANT) }));
export type DayOrInstant = z.infer<typeof DayOrInstant>;

export const Stance = z.enum(['permits', 'prohibits', 'reviewing', 'endorses']);
export type Stance = z.infer<typeof Stance>;

export const Attribution = z.enum(['official', 'anonymous-official', 'media-report', 'non-government']);
export type Attribution = z.infer<typeof Attribution>;

export const DatePrecision = z
  .enum(['day', 'month', 'approximate'])
  .describe('how exactly effectiveAt is known: the day; only the month (effectiveAt is then the first of that month); or approximately ("early May": the day recorded)');
export type DatePrecision = z.infer<typeof DatePrecision>;

// Free text (titles, quotes, names, scope items, notes, reasons) is what a
// person wrote or copied: well-formed Unicode, and of the control characters
// only tab and newline (CRLF and CR line breaks become newlines). A lone surrogate or a NUL is refused with the field
// named, and so is bidirectional formatting that would make the text display otherwise than it
// reads (below). Text already in the log is read as it was stored (readAsStored, which
// every read of the log goes through), so a log written before this rule stays
// readable; the rule is for what is written from now on.
const NOT_PLAIN = /(?![\t\n])\p{Cc}|\p{Cs}/u;
let readingStored = 0;

/** Whether what is being parsed is read from the log (readAsStored): a rule for new writes lets it pass. */
export const readingTheLog = (): boolean => readingStored > 0;

/** Runs `read`, a decoding of stored events, with the free-text rule off: what the log holds is read as it was written. */
export function readAsStored<T>(read: () => T): T {
  readingStored += 1;
  try {
    return read();
  } finally {
    readingStored -= 1;
  }
}

// Explicit bidirectional formatting (UAX #9): embeddings, overrides and isolates. Quotes are
// pasted into articles (explain): an override makes a quote display in another order than it
// reads (the "Trojan Source" trick), and one left open reorders the text around the field
// where it is shown. Right-to-left text needs neither: the marks (LRM, RLM, ALM) stay allowed,
// and embeddings and isolates too when closed in the same text.
const BIDI_FORMATTING = /[\u202A-\u202E\u2066-\u2069]/u;
const BIDI_OVERRIDE = /[\u202D\u202E]/u;
const codeOf = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** The first embedding or isolate in `text` not closed in it, or a close that has nothing to close. */
function unbalancedBidi(text: string): string | undefined {
  const open: string[] = [];
  for (const char of text) {
    if (char === '\u202A' || char === '\u202B' || char === '\u2066' || char === '\u2067' || char === '\u2068') open.push(char);
    else if (char === '\u202C') {
      // PDF closes the innermost embedding; inside an isolate it closes nothing.
      if (open.length === 0 || open[open.length - 1] >= '\u2066') return char;
      open.pop();
    } else if (char === '\u2069') {
      // PDI closes the innermost isolate and every embedding opened inside it.
      const isolate = open.findLastIndex((o) => o >= '\u2066');
      if (isolate < 0) return char;
      open.length = isolate;
    }
  }
  return open[0];
}

/** Why `text` is not plain free text, or undefined if it is. */
export function freeTextProblem(text: string): string | undefined {
  const found = NOT_PLAIN.exec(text)?.[0];
  if (found === undefined) return BIDI_FORMATTING.test(text) ? bidiProblem(text) : undefined;
  const code = codeOf(found);
  return /\p{Cs}/u.test(found)
    ? `is not well-formed Unicode: it holds a lone surrogate (${code})`
    : `holds the control character ${code}; of control characters only tab and newline are allowed`;
}

function bidiProblem(text: string): string | undefined {
  const override = BIDI_OVERRIDE.exec(text)?.[0];
  if (override) return `holds the bidirectional override ${codeOf(override)}, which makes text display in another order than it reads`;
  const unbalanced = unbalancedBidi(text);
  if (unbalanced) return `holds a bidirectional embedding or isolate mark (${codeOf(unbalanced)}) that is not closed, or closes nothing, within the text`;
  return undefined;
}

/** The shared string schema of free text: trimmed, well-formed, no control characters but tab and newline. Each field adds its own length limits. */
export const FreeText = z
  .string()
  .trim()
  // Line breaks as a form or a Windows clipboard sends them (CRLF, or a lone CR) become LF;
  // text in the log stays as it was stored.
  .overwrite((text) => (readingStored > 0 || !text.includes('\r') ? text : text.replace(/\r\n?/g, '\n')))
  .superRefine((text, ctx) => {
    if (readingStored > 0) return;
    const problem = freeTextProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const Text = FreeText.min(1).max(2_000);
const TextList = z.array(Text).max(100);

/** Limits on a permission or prohibition. Every field is optional; no field means no limit. */
export const Scope = z
  .object({
    regions: TextList.optional(),
    targets: TextList.optional(),
    excludedTargets: TextList.optional(),
    purposes: TextList.optional(),
    weapons: TextList.optional(),
    excludedWeapons: TextList.optional(),
    conditions: TextList.optional(),
  })
  .strict();
export type Scope = z.infer<typeof Scope>;

export const Speaker = z
  .object({
    name: Text.max(300).optional(),
    role: Text.max(300).optional(),
    attribution: Attribution,
  })
  .strict();
export type Speaker = z.infer<typeof Speaker>;

export const Source = z
  .object({
    publisher: Text.max(300).optional(),
    title: Text.max(500),
    url: z.url({ protocol: /^https?$/ }).max(2_000).optional(),
    publishedAt: DayOrInstant,
    quote: FreeText.min(1).max(5_000),
  })
  .strict();
export type Source = z.infer<typeof Source>;

/** Statement ids are chosen by the service (uuid) or by a dataset (readable slugs). */
export const StatementId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 letters, digits, ".", "_", ":" or "-"');
export type StatementId = z.infer<typeof StatementId>;
