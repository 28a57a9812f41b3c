// A source counts once. `confidence.sources` is the number of reports behind
// the deciding statement, so the same report attached twice (a retried request
// without an Idempotency-Key, two editors at once) would raise it with no new
// evidence. Two sources are one report when they have the same URL, or, where
// either has none, the same publisher and title on the same day; a second quote
// from the same report is still the same report. "The same day" allows for the
// clock skew: a publishedAt a few minutes ahead is recorded as the server's now,
// which may be the day before the one the client gave (a day, or an instant just
// after midnight), so the report given again as it was is still found.
import type { Source } from '../../events/vocabulary.js';
import { dayOf, instantOf } from '../../projections/time.js';
import { CLOCK_SKEW_MS } from './clock-skew.js';

const fold = (text: string | undefined) => text?.trim().toLocaleLowerCase('en') ?? '';

function normalUrl(url: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  return parsed.href;
}

export function sameReport(a: Source, b: Source): boolean {
  if (a.url && b.url) return normalUrl(a.url) === normalUrl(b.url);
  return fold(a.publisher) === fold(b.publisher) && fold(a.title) === fold(b.title) && sameDay(instantOf(a.publishedAt), instantOf(b.publishedAt));
}

function sameDay(a: number, b: number): boolean {
  return dayOf(a) === dayOf(b) || Math.abs(a - b) <= CLOCK_SKEW_MS;
}

/** The index of the first earlier source in `sources` that is the same report as `source`, or -1. */
export const sameReportIn = (sources: readonly Source[], source: Source): number => sources.findIndex((other) => sameReport(other, source));
