// Prints benchmark figures as a table, each beside its reference or target.
export interface Figure {
  what: string;
  value: number;
  unit: string;
  target?: string;
  ok?: boolean;
}

export function report(title: string, figures: Figure[]): void {
  const format = (f: Figure) => (f.unit === 'ratio' ? f.value.toFixed(2) : f.value >= 100 ? Math.round(f.value).toLocaleString('en') : f.value.toFixed(2));
  console.log(`\n${title}`);
  for (const f of figures) {
    const verdict = f.ok === undefined ? '' : f.ok ? '  ok' : '  MISSED';
    console.log(`  ${f.what.padEnd(44)} ${format(f).padStart(12)} ${f.unit.padEnd(9)}${f.target ? ` target ${f.target}` : ''}${verdict}`);
  }
}
