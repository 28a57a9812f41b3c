// The timeline: one row per country, a band per interval of its history (as
// known at the chosen time), a marker per statement, lines for today and the
// "as of" day. Bands and statement markers are focusable (one tab stop, arrow
// keys inside) and show their statement on hover or focus.
import { h, svg } from './dom.js';
import {
  ATTRIBUTION_LABEL, dayNumber, dayOfNumber, formatDay, formatEffective, formatShortDay, isolated, limitParts, sourceLine,
  quoted, retractionParts, speakerOf, speakerParts, STANCE_LABEL, STATUS_LABEL, yearOf,
} from './words.js';

const LABEL_W = 200;
/** Narrower than this, the names go above each row (NAME_H tall) instead of in a column beside it. */
const NARROW_W = 560;
const NARROW_LABEL_W = 10;
const NAME_H = 17;
const AXIS_H = 54;
const ROW_H = 46;
const BAND_Y = 5;
const BAND_H = 26;
const MARK_Y = 39;
const RIGHT_PAD = 14;
/** A stretch with nothing in it longer than this many days is drawn narrow, when compressing. */
const QUIET_DAYS = 14;
const MARGIN_DAYS = 1;
const BREAK_PX = 36;

/**
 * A day -> x mapping that is linear everywhere except across long quiet
 * stretches, which shrink to BREAK_PX each (shown with a break mark), so a
 * busy week is not squeezed to a pixel by two quiet years.
 */
export function buildScale(keyDays, start, end, width, compress) {
  const points = [...new Set([start, end, ...keyDays.filter((d) => d > start && d < end)])].sort((a, b) => a - b);
  const pieces = [];
  const linear = (from, to) => {
    const last = pieces.at(-1);
    if (last && !last.quiet && last.to === from) last.to = to;
    else if (to > from) pieces.push({ from, to, quiet: false });
  };
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    if (compress && b - a > QUIET_DAYS) {
      linear(a, a + MARGIN_DAYS);
      pieces.push({ from: a + MARGIN_DAYS, to: b - MARGIN_DAYS, quiet: true });
      linear(b - MARGIN_DAYS, b);
    } else {
      linear(a, b);
    }
  }
  const quietCount = pieces.filter((p) => p.quiet).length;
  const linearDays = pieces.filter((p) => !p.quiet).reduce((sum, p) => sum + (p.to - p.from), 0);
  const pxPerDay = Math.max(0.01, (width - quietCount * BREAK_PX) / Math.max(1, linearDays));
  let x = 0;
  for (const piece of pieces) {
    piece.x0 = x;
    x += piece.quiet ? BREAK_PX : (piece.to - piece.from) * pxPerDay;
    piece.x1 = x;
  }
  const at = (day) => {
    if (day <= start) return 0;
    const piece = pieces.find((p) => day <= p.to) ?? pieces.at(-1);
    const fraction = (Math.min(day, piece.to) - piece.from) / (piece.to - piece.from);
    return piece.x0 + fraction * (piece.x1 - piece.x0);
  };
  return { x: at, pieces, pxPerDay, width: x };
}

function duration(days) {
  if (days >= 365) return `${(days / 365.25).toFixed(1).replace(/\.0$/, '')} yr`;
  if (days >= 60) return `${Math.round(days / 30.44)} mo`;
  return `${Math.round(days)} d`;
}

/** Tick candidates for a linear piece, coarser as days get narrower. */
function tickDays(piece, pxPerDay) {
  const days = [];
  const keep =
    pxPerDay >= 26 ? () => true
      : pxPerDay >= 9 ? (d) => [1, 8, 15, 22].includes(d.getUTCDate())
        : pxPerDay >= 3 ? (d) => [1, 15].includes(d.getUTCDate())
          : pxPerDay >= 0.6 ? (d) => d.getUTCDate() === 1
            : (d) => d.getUTCDate() === 1 && d.getUTCMonth() % 6 === 0;
  for (let n = Math.ceil(piece.from); n <= piece.to; n++) {
    if (keep(new Date(n * 86_400_000))) days.push(n);
  }
  return days;
}

/** The bands of one row: its intervals, with "unknown" filling any stretch no interval covers. */
export function bandsOf(intervals, start, end) {
  const bands = [];
  let cursor = start;
  for (const interval of intervals) {
    const from = Math.max(dayNumber(interval.from), start);
    const to = Math.min(interval.to ? dayNumber(interval.to) : end, end);
    if (to <= from) continue;
    if (from > cursor) bands.push({ from: cursor, to: from, status: 'unknown', interval: null });
    bands.push({ from, to, status: interval.status, interval });
    cursor = to;
  }
  if (cursor < end) bands.push({ from: cursor, to: end, status: 'unknown', interval: null });
  return bands;
}

function bandLabel(band) {
  const flags = [];
  if (band.interval?.underReview) flags.push('under review');
  if (band.interval?.endorsesLifting) flags.push('endorses lifting');
  return [STATUS_LABEL[band.status], ...flags].join(' · ');
}

/**
 * The text drawn on a band: its status, flags, and weapons that differ from
 * it ("Restricted · ATACMS prohibited"). Unknown bands, the light background
 * of the chart, name only their flags.
 */
function bandText(band, room) {
  const exceptions = (band.interval?.weapons ?? []).filter((w) => w.status !== band.status).map((w) => `${w.system} ${w.status}`);
  const flagsOnly = (words) => words.split(' · ').slice(1).join(' · ');
  // The longest that fits: everything, then without the weapons, then the status alone.
  const candidates = [[bandLabel(band), ...exceptions].join(' · '), bandLabel(band), STATUS_LABEL[band.status]];
  const fitting = candidates.map((words) => (band.status === 'unknown' ? flagsOnly(words) : words)).find((words) => words.length * 7 + 14 < room);
  return fitting ?? '';
}

function periodText(band) {
  const iv = band.interval;
  if (!iv) return 'No permission or prohibition on record';
  const from = formatDay(iv.from);
  return iv.to ? `${from} to ${formatDay(dayOfNumber(dayNumber(iv.to) - 1))}` : `Since ${from}, still in force`;
}

/** The words a screen reader says for a band, and the first lines of its tooltip. */
function describeBand(row, band, deciding) {
  const parts = [`${row.name}: ${bandLabel(band)}.`, `${periodText(band)}.`];
  if (deciding) parts.push(`Decided by ${speakerOf(deciding)} (${ATTRIBUTION_LABEL[deciding.speaker.attribution]}), ${STANCE_LABEL[deciding.stance]}.`);
  return parts.join(' ');
}

const MARKER_KIND = { policy: 'Statement', context: 'Context statement (never decides)', retracted: 'Retracted statement' };

function markerKind(statement) {
  if (statement.retracted) return 'retracted';
  return statement.speaker.attribution === 'non-government' ? 'context' : 'policy';
}

/** The words a screen reader says for a statement marker: what it is, when, who, what it says. */
function describeStatement(row, statement) {
  return `${row.name}: ${MARKER_KIND[markerKind(statement)]}, effective ${formatEffective(statement)}. ` +
    `${speakerOf(statement)} (${ATTRIBUTION_LABEL[statement.speaker.attribution]}), ${STANCE_LABEL[statement.stance]}.`;
}

function statementCard(statement, { heading } = {}) {
  const [first, ...more] = statement.sources;
  return [
    heading ? h('p', { class: 'tip-kicker' }, heading) : null,
    h('p', { class: 'tip-speaker' }, speakerParts(statement), h('span', { class: 'tip-attribution' }, ` · ${ATTRIBUTION_LABEL[statement.speaker.attribution]}`)),
    h('p', { class: 'tip-dates' },
      `${STANCE_LABEL[statement.stance]} · effective ${formatEffective(statement)} · reported ${formatDay(statement.reportedAt)}`),
    // dir="auto": a quote in Arabic or Hebrew runs right to left, its border on its right.
    first ? h('blockquote', { class: 'tip-quote', dir: 'auto' }, quoted(first.quote)) : null,
    first ? h('p', { class: 'tip-source' }, isolated(first.title), ' — ', sourceLine(first), more.length ? ` (+${more.length} more source${more.length > 1 ? 's' : ''})` : '') : null,
    statement.retraction ? h('p', { class: 'tip-retracted' }, retractionParts(statement.retraction, 'Retracted')) : null,
  ];
}

function bandTooltip(row, band, deciding) {
  const iv = band.interval;
  const limits = iv ? limitParts(iv.scope) : [];
  const weapons = iv?.weapons?.length ? h('p', { class: 'tip-weapons' }, iv.weapons.map((w) => `${w.system}: ${STATUS_LABEL[w.status].toLowerCase()}`).join(' · ')) : null;
  return [
    h('p', { class: 'tip-title' },
      h('span', { class: `chip chip-${band.status}` }, bandLabel(band)),
      ' ',
      h('span', { class: 'tip-country' }, row.name)),
    h('p', { class: 'tip-period' }, periodText(band)),
    limits.length ? h('p', { class: 'tip-limits' }, limits) : null,
    weapons,
    deciding ? statementCard(deciding, { heading: 'Deciding statement' }) : h('p', { class: 'tip-none' }, 'No statement that permits or prohibits use was on record for this period.'),
    restatedIn(row, band, deciding),
  ];
}

/**
 * A period is as long as the position stays the same, and names the statement that decided its
 * first day; a later one that said the same again (Kirby's "no change") decides the days after it
 * without starting a new period. Named here, so the reader does not take the first for the only one:
 * the ones /history names (restatedBy), as the service's rules chose them day by day.
 */
function restatedIn(row, band, deciding) {
  const iv = band.interval;
  if (!iv?.restatedBy?.length || !deciding) return null;
  const later = iv.restatedBy.map((id) => row.statements.find((s) => s.statementId === id)).filter(Boolean);
  if (!later.length) return null;
  return h('p', { class: 'tip-restated' }, 'Said again in this period by ',
    later.flatMap((s, i) => [i ? '; ' : '', speakerParts(s), ` (${formatEffective(s)})`]),
    ', which then decides the days from its own: the country view shows the statement deciding the day asked for.');
}

/**
 * Draws the timeline into `container`. rows: [{code, name, intervals, statements}]
 * with statements already limited to what was known. options: {asOf, today,
 * nowDay (fractional), compress, tooltip, onOpen(code)}.
 */
export function renderTimeline(container, rows, options) {
  const { asOf, today, compress, tooltip, onOpen } = options;
  const asOfN = dayNumber(asOf);
  const todayN = dayNumber(today);

  // The window: from just before the first thing on record to just after today or the as-of day.
  const dataDays = rows.flatMap((row) => [
    ...row.intervals.flatMap((iv) => [dayNumber(iv.from), ...(iv.to ? [dayNumber(iv.to)] : [])]),
    ...row.statements.map((s) => dayNumber(s.effectiveAt)),
  ]);
  const start = Math.min(asOfN, todayN, ...dataDays) - MARGIN_DAYS;
  const end = Math.max(asOfN, todayN) + MARGIN_DAYS;
  const width = Math.max(640, container.clientWidth);
  // On a phone a 200 px name column would leave the bands a sliver: the names go above the rows.
  const narrow = container.clientWidth < NARROW_W;
  const labelW = narrow ? NARROW_LABEL_W : LABEL_W;
  const nameH = narrow ? NAME_H : 0;
  const rowH = ROW_H + nameH;
  const bandY = BAND_Y + nameH;
  const markY = MARK_Y + nameH;
  const plotW = width - labelW - RIGHT_PAD;
  const keyDays = [...dataDays, ...dataDays.map((d) => d + 1), asOfN, asOfN + 1, todayN, todayN + 1];
  const scale = buildScale(keyDays, start, end, plotW, compress);
  const X = (day) => labelW + scale.x(day);
  const height = AXIS_H + rows.length * rowH + 8;

  const root = svg('svg', {
    class: 'timeline-svg', width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-labelledby': 'timeline-heading',
  });

  // Grid and axis labels.
  const grid = svg('g', { class: 'grid', 'aria-hidden': 'true' });
  // Axis labels never overlap: the quiet stretches' durations first, then ticks where they fit.
  const taken = [];
  const fits = (x0, x1) => x0 >= labelW - (narrow ? 0 : 30) && x1 <= width - 6 && taken.every(([a, b]) => x1 + 6 < a || x0 - 6 > b);
  for (const piece of scale.pieces.filter((p) => p.quiet)) {
    const cx = labelW + (piece.x0 + piece.x1) / 2;
    const label = duration(piece.to - piece.from);
    grid.append(svg('path', { d: `M${cx - 4} ${AXIS_H - 1} l4 -9 M${cx + 1} ${AXIS_H - 1} l4 -9`, class: 'break-mark' }));
    const w = label.length * 6;
    if (fits(cx - w / 2, cx + w / 2)) {
      grid.append(svg('text', { x: cx, y: AXIS_H - 14, class: 'quiet-label', 'text-anchor': 'middle' }, label));
      taken.push([cx - w / 2, cx + w / 2]);
    }
  }
  let lastYear;
  let afterQuiet = true;
  for (const piece of scale.pieces) {
    if (piece.quiet) {
      afterQuiet = true;
      continue;
    }
    for (const day of tickDays(piece, scale.pxPerDay)) {
      const x = X(day);
      const withYear = afterQuiet || yearOf(day) !== lastYear;
      const label = withYear ? `${formatShortDay(day)} ${yearOf(day)}` : formatShortDay(day);
      const w = label.length * 6.6;
      if (!fits(x - w / 2, x + w / 2)) continue;
      grid.append(
        svg('line', { x1: x, x2: x, y1: AXIS_H - 6, y2: height - 8, class: 'tick' }),
        svg('text', { x, y: AXIS_H - 14, 'text-anchor': 'middle', class: 'tick-label' }, label),
      );
      taken.push([x - w / 2, x + w / 2]);
      lastYear = yearOf(day);
      afterQuiet = false;
    }
  }
  root.append(grid);

  // Rows. Band labels go in a layer of their own, above the axis-break cuts.
  // Keyboard lanes, top to bottom as drawn: each row's bands, then its statement markers.
  const lanes = [];
  const items = () => lanes.flatMap((lane) => lane.items);
  /** One tab stop: the focused item is the one Tab comes back to. */
  const focusItem = (el, row, item, lane) => {
    items().forEach((other) => other.el.setAttribute('tabindex', '-1'));
    el.setAttribute('tabindex', '0');
    options.onFocusBand?.({ code: row.code, day: (item.from + item.to) / 2, lane });
  };
  const labels = svg('g', { class: 'band-labels', 'aria-hidden': 'true' });
  // The names, in a layer over everything, kept at the left edge while the bands scroll sideways (see stick, below).
  // Hidden from screen readers: each row's group and band already say its name.
  const names = svg('g', { class: 'names', 'aria-hidden': 'true' });
  rows.forEach((row, r) => {
    const y = AXIS_H + r * rowH;
    const byId = new Map(row.statements.map((s) => [s.statementId, s]));
    const g = svg('g', { class: 'row', role: 'group', 'aria-label': row.name, 'data-country': row.code });
    g.append(svg('rect', { x: 0, y, width, height: rowH, class: r % 2 ? 'row-bg odd' : 'row-bg' }));
    const maxChars = narrow ? 40 : 26;
    names.append(svg('g', { class: 'row-name', 'data-country': row.code },
      // Beside the row, a background of the row's own stripe hides the bands scrolled under it; above it, a halo on the text does.
      narrow ? null : svg('rect', { x: 0, y, width: labelW, height: rowH, class: r % 2 ? 'row-bg odd' : 'row-bg' }),
      svg('text', {
        x: narrow ? labelW : 12, y: narrow ? y + 3 + nameH / 2 : y + bandY + BAND_H / 2,
        class: narrow ? 'row-label above' : 'row-label', 'dominant-baseline': 'central', onclick: () => onOpen(row.code),
      },
      row.name.length > maxChars ? `${row.name.slice(0, maxChars - 1)}…` : row.name,
      svg('title', {}, `${row.name} (${row.code}): open the country view`))));

    const bands = [];
    for (const band of bandsOf(row.intervals, start, end)) {
      const x0 = X(band.from);
      const x1 = X(band.to);
      const deciding = band.interval?.decidingStatementId ? byId.get(band.interval.decidingStatementId) : undefined;
      const label = bandText(band, x1 - x0);
      const el = svg('g', {
        class: `band status-${band.status}`,
        role: 'button',
        tabindex: -1,
        'aria-label': describeBand(row, band, deciding),
        // While focused, the tooltip is this band's: screen readers read the quote and source from it.
        'aria-describedby': 'tooltip',
        'data-country': row.code,
        'data-status': band.status,
        'data-from': band.interval?.from ?? dayOfNumber(band.from),
        'data-to': band.interval ? band.interval.to ?? '' : band.to >= end ? '' : dayOfNumber(band.to),
      },
      svg('rect', { x: x0, y: y + bandY, width: Math.max(1, x1 - x0), height: BAND_H, class: 'band-fill', fill: `url(#pattern-${band.status})` }),
      svg('rect', { x: x0 + 0.5, y: y + bandY + 0.5, width: Math.max(0, x1 - x0 - 1), height: BAND_H - 1, class: 'band-outline' }));
      if (label) {
        labels.append(svg('text', { x: x0 + 7, y: y + bandY + BAND_H / 2, class: 'band-label', 'dominant-baseline': 'central' }, label));
      }
      const show = () => tooltip.show(el, bandTooltip(row, band, deciding));
      el.addEventListener('mouseenter', show);
      el.addEventListener('mouseleave', () => tooltip.hideUnlessFocused());
      el.addEventListener('focus', () => {
        focusItem(el, row, band, 'bands');
        show();
      });
      // Not at once: a click into the tooltip, to select its quote, also takes the focus away.
      el.addEventListener('blur', () => tooltip.hideUnlessFocused());
      el.addEventListener('click', () => onOpen(row.code));
      bands.push({ el, from: band.from, to: band.to });
      g.append(el);
    }
    lanes.push({ row: r, kind: 'bands', items: bands });

    // Statement markers; several on one day spread out a little. Focusable like the bands, from which Down reaches them (WCAG 2.1.1).
    const marks = [];
    const perDay = new Map();
    for (const s of row.statements) perDay.set(s.effectiveAt, [...(perDay.get(s.effectiveAt) ?? []), s]);
    for (const [day, list] of perDay) {
      const cx = X(dayNumber(day) + 0.5);
      list.forEach((s, i) => {
        const dx = (i - (list.length - 1) / 2) * 7;
        const kind = markerKind(s);
        const mark = kind === 'retracted'
          ? svg('path', { d: `M${cx + dx - 3.5} ${y + markY - 3.5} l7 7 m0 -7 l-7 7`, class: 'marker retracted' })
          : svg('circle', { cx: cx + dx, cy: y + markY, r: 3.6, class: `marker ${kind === 'context' ? 'context' : ''}` });
        const hit = svg('circle', {
          cx: cx + dx, cy: y + markY, r: 6, class: 'marker-hit', role: 'button', tabindex: -1,
          'aria-label': describeStatement(row, s), 'aria-describedby': 'tooltip', 'data-country': row.code, 'data-statement': s.statementId,
        });
        const item = { el: hit, from: dayNumber(day), to: dayNumber(day) + 1, x: cx + dx };
        const show = () => tooltip.show(hit, statementCard(s, { heading: kind === 'retracted' ? 'Retracted statement' : 'Statement' }));
        hit.addEventListener('mouseenter', show);
        hit.addEventListener('mouseleave', () => tooltip.hideUnlessFocused());
        hit.addEventListener('focus', () => {
          focusItem(hit, row, item, 'statements');
          show();
        });
        hit.addEventListener('blur', () => tooltip.hideUnlessFocused());
        hit.addEventListener('click', () => onOpen(row.code));
        marks.push(item);
        g.append(mark, hit);
      });
    }
    if (marks.length) lanes.push({ row: r, kind: 'statements', items: marks.sort((a, b) => a.x - b.x) });
    root.append(g);
  });

  // Each compressed stretch cuts through the rows, like a break in an axis.
  const cuts = svg('g', { class: 'cuts', 'aria-hidden': 'true' });
  for (const piece of scale.pieces.filter((p) => p.quiet)) {
    const cx = labelW + (piece.x0 + piece.x1) / 2;
    rows.forEach((_row, r) => {
      const top = AXIS_H + r * rowH + bandY - 1;
      const bottom = top + BAND_H + 2;
      cuts.append(svg('path', { d: `M${cx - 6} ${bottom} L${cx - 1} ${top} M${cx + 1} ${bottom} L${cx + 6} ${top}`, class: 'cut' }));
    });
  }
  root.append(cuts);

  // After the as-of day: dimmed, still there to hover. The band labels go on top, so they keep their contrast.
  const asOfX = X(asOfN + 1);
  if (asOfX < labelW + scale.width - 1) {
    root.append(svg('rect', { x: asOfX, y: AXIS_H, width: labelW + scale.width - asOfX, height: height - AXIS_H - 8, class: 'after-asof', 'aria-hidden': 'true' }));
  }
  root.append(labels);

  // Today and as-of lines, with labels above the axis.
  const lines = svg('g', { class: 'lines', 'aria-hidden': 'true' });
  const todayX = X(todayN + (Date.now() % 86_400_000) / 86_400_000);
  const asOfMid = X(asOfN + 0.5);
  const near = asOf === today;
  lines.append(svg('line', { x1: todayX, x2: todayX, y1: 18, y2: height - 8, class: 'today-line' }));
  if (!near) lines.append(svg('line', { x1: asOfMid, x2: asOfMid, y1: 18, y2: height - 8, class: 'asof-line' }));
  const todayText = near ? `Today · as of ${formatDay(today)}` : 'Today';
  const todayLeft = todayX + todayText.length * 7.5 + 12 > width || (!near && asOfMid > todayX);
  lines.append(svg('text', { x: todayX + (todayLeft ? -5 : 5), y: 14, class: 'line-label today', 'text-anchor': todayLeft ? 'end' : 'start' }, todayText));
  if (!near) {
    // On the side away from today's label, unless that runs off the chart.
    const textW = 110;
    const asOfLeft = asOfMid < todayX ? asOfMid - textW > labelW : asOfMid + textW + 12 > width;
    lines.append(svg('text', { x: asOfMid + (asOfLeft ? -5 : 5), y: 14, class: 'line-label asof', 'text-anchor': asOfLeft ? 'end' : 'start' }, `As of ${formatDay(asOf)}`));
  }
  root.append(lines, names);

  // One tab stop for the whole timeline; Left and Right move along a lane, Up and Down between lanes at about the same day.
  root.addEventListener('keydown', (event) => {
    const l = lanes.findIndex((lane) => lane.items.some((item) => item.el === document.activeElement));
    if (l < 0) return;
    const list = lanes[l].items;
    const c = list.findIndex((item) => item.el === document.activeElement);
    const mid = (list[c].from + list[c].to) / 2;
    const gap = (item) => Math.max(0, item.from - mid, mid - item.to);
    const nearest = (lane) => lane?.items.reduce((best, item) => (gap(item) < gap(best) ? item : best));
    const next = {
      ArrowRight: list[c + 1],
      ArrowLeft: list[c - 1],
      Home: list[0],
      End: list.at(-1),
      ArrowDown: nearest(lanes[l + 1]),
      ArrowUp: nearest(lanes[l - 1]),
    }[event.key];
    if (next) {
      event.preventDefault();
      next.el.focus();
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onOpen(rows[lanes[l].row].code);
    } else if (event.key === 'Escape') {
      tooltip.hide();
    }
  });

  // Keep the keyboard user's place across redraws: the same country and lane, the item around the same day.
  const focusable = (() => {
    const key = options.focusedBand;
    const near = (lane, day) => lane?.items.find((item) => item.from <= day && day < item.to) ?? lane?.items[0];
    if (key) {
      const r = rows.findIndex((row) => row.code === key.code);
      const lane = lanes.find((l) => l.row === r && l.kind === key.lane) ?? lanes.find((l) => l.row === r);
      if (lane) return near(lane, key.day);
    }
    return near(lanes[0], asOfN);
  })();
  focusable?.el.setAttribute('tabindex', '0');

  container.replaceChildren(root);
  // A sticky column, by hand: position: sticky does not work inside SVG. Assigned, not added, so redraws do not pile up handlers.
  const stick = () => names.setAttribute('transform', `translate(${container.scrollLeft} 0)`);
  container.onscroll = stick;
  stick();
  return { refocus: () => focusable?.el.focus() };
}
