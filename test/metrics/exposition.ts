// A strict reader of the Prometheus text exposition format (version 0.0.4), as
// a scraper would apply it: every sample belongs to a family declared with one
// HELP and one TYPE before its first sample, names and labels are well formed,
// values are numbers, and no series appears twice. Throws on the first fault.

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  /** Each series as `name{a="1",b="2"}` (labels sorted) and its value. */
  samples: Map<string, number>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SUFFIXES: Record<Family['type'], string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/** A float as Go's strconv.ParseFloat reads it, as the format says: NaN and Inf in any letter case (prom-client writes "Nan"). */
function parseValue(text: string, at: number): number {
  if (/^[+-]?inf(inity)?$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`line ${at}: "${text}" is not a sample value`);
  return Number(text);
}

/** `{a="x",b="y"}` -> sorted pairs; label values may hold \\, \" and \n escapes. */
function parseLabels(text: string, at: number): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  let rest = text.slice(1, -1);
  while (rest.length > 0) {
    const match = /^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
    if (!match || !LABEL.test(match[1])) throw new Error(`line ${at}: malformed labels ${text}`);
    if (pairs.some(([name]) => name === match[1])) throw new Error(`line ${at}: label ${match[1]} twice`);
    pairs.push([match[1], match[2]]);
    rest = rest.slice(match[0].length);
  }
  return pairs.sort(([a], [b]) => a.localeCompare(b));
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const declared = (name: string) => families.get(name);
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the text must end with a newline');
  lines.forEach((line, index) => {
    const at = index + 1;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!match) return; // a plain comment
      const [, kind, name, rest] = match;
      if (!NAME.test(name)) throw new Error(`line ${at}: bad metric name ${name}`);
      const family = declared(name) ?? { name, type: 'untyped' as const, help: '', samples: new Map() };
      if (family.samples.size > 0) throw new Error(`line ${at}: ${kind} for ${name} after its samples`);
      if (kind === 'TYPE') {
        if (!(rest in SUFFIXES)) throw new Error(`line ${at}: unknown type ${rest}`);
        if ((family as { typed?: boolean }).typed) throw new Error(`line ${at}: a second TYPE for ${name}`);
        Object.assign(family, { type: rest, typed: true });
      } else {
        if (family.help) throw new Error(`line ${at}: a second HELP for ${name}`);
        family.help = rest;
      }
      families.set(name, family);
      return;
    }
    const match = /^([^\s{]+)(\{[^}]*\})?\s+(\S+)(\s+-?\d+)?$/.exec(line);
    if (!match) throw new Error(`line ${at}: not a sample: ${line}`);
    const [, name, labels, value] = match;
    if (!NAME.test(name)) throw new Error(`line ${at}: bad metric name ${name}`);
    const family = [...families.values()].find((f) => SUFFIXES[f.type].some((suffix) => `${f.name}${suffix}` === name));
    if (!family || !(family as { typed?: boolean }).typed || !family.help) throw new Error(`line ${at}: ${name} has no HELP and TYPE before it`);
    const pairs = labels ? parseLabels(labels, at) : [];
    const series = `${name}{${pairs.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
    if (family.samples.has(series)) throw new Error(`line ${at}: ${series} twice`);
    family.samples.set(series, parseValue(value, at));
  });
  return families;
}
