// A span of time as a note says it ("every attempt failed for 5 days", "for 1.5 seconds"): in the
// largest unit it fills, to a tenth, with the unit named by Intl (singular and plural included).
// Node 20 has no Intl.DurationFormat (it came in 23), and no package the service depends on says
// a duration in words (cli-progress's formatter writes a progress bar's "01h05m").
const UNITS = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
] as const;

const inUnit = (unit: string) => new Intl.NumberFormat('en', { style: 'unit', unit, unitDisplay: 'long', maximumFractionDigits: 1 });
const FORMATS = new Map([...UNITS.map(([unit]) => unit), 'millisecond'].map((unit) => [unit, inUnit(unit)]));

export function durationInWords(ms: number): string {
  for (const [unit, size] of UNITS) if (ms >= size) return FORMATS.get(unit)!.format(ms / size);
  return FORMATS.get('millisecond')!.format(Math.max(0, Math.round(ms)));
}
