// The page: reads the public REST API only, keeps what is shown in the URL so
// a link reproduces it, and redraws when the dates change.
import { explainFromBasis, renderCountry } from './country.js';
import { h } from './dom.js';
import { renderTimeline } from './timeline.js';
import { createTooltip } from './tooltip.js';
import { formatDay, isDay, knownOn, STATUS_LABEL, todayUtc } from './words.js';

const $ = (id) => document.getElementById(id);

const state = {
  at: todayUtc(),
  /** '' means now: everything reported so far. */
  knownAt: '',
  country: '',
  compress: true,
  focusedBand: undefined,
};
let countries = [];
let rows = [];
let loads = 0;
let timeline;
/** Loads under way, and how many per region, for the "Loading…" status and aria-busy. */
let pending = 0;
const busyRegions = new Map();
let loadingTimer;
/** A load shorter than this says nothing: the status would only flash. */
const LOADING_DELAY_MS = 400;

class ApiError extends Error {}

async function api(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } }).catch(() => {
    throw new ApiError('the service did not answer; try again in a moment.');
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new ApiError(`${path}: ${problem.detail ?? response.statusText}`);
  }
  return response.json();
}

/**
 * Runs a load, with `regions` marked aria-busy meanwhile (screen readers wait
 * for them to settle) and, if it takes a while, a visible "Loading…" status.
 */
async function loading(regions, work) {
  for (const el of regions) {
    busyRegions.set(el, (busyRegions.get(el) ?? 0) + 1);
    el.setAttribute('aria-busy', 'true');
  }
  if (pending++ === 0) loadingTimer = setTimeout(() => ($('loading').textContent = 'Loading…'), LOADING_DELAY_MS);
  try {
    return await work();
  } finally {
    for (const el of regions) {
      busyRegions.set(el, busyRegions.get(el) - 1);
      if (!busyRegions.get(el)) el.removeAttribute('aria-busy');
    }
    if (--pending === 0) {
      clearTimeout(loadingTimer);
      $('loading').textContent = '';
    }
  }
}

/** Reads the view from the URL; returns what it could not read ("at=2024-02-31"), to say so. */
function readUrl() {
  const query = new URLSearchParams(location.search);
  const unread = [];
  const take = (name, valid, set) => {
    const value = query.get(name);
    if (value === null || value === '') return;
    if (valid(value)) set(value);
    else unread.push(`${name}=${value}`);
  };
  take('at', isDay, (value) => (state.at = value));
  take('knownAt', isDay, (value) => (state.knownAt = value));
  take('country', (value) => /^[A-Za-z]{2}$/.test(value), (value) => (state.country = value.toUpperCase()));
  state.compress = query.get('linear') !== '1';
  return unread;
}

function showUnread(unread) {
  const el = $('url-note');
  el.textContent = unread.length
    ? `This link has ${unread.length === 1 ? 'a value' : 'values'} the page cannot read, left out: ${unread.join(', ')}. ` +
      'Dates are days written YYYY-MM-DD and countries two-letter codes; without them the page shows today, as known now.'
    : '';
  el.hidden = !unread.length;
}

/** The query that reproduces the view; `pinned` also fixes "today" and "now", for links. */
function viewQuery({ pinned }) {
  const query = new URLSearchParams();
  if (state.country) query.set('country', state.country);
  if (pinned || state.at !== todayUtc()) query.set('at', state.at);
  if (state.knownAt || pinned) query.set('knownAt', state.knownAt || todayUtc());
  if (!state.compress) query.set('linear', '1');
  return query.toString();
}

/** Puts the view in the URL; `push` (a reader's choice) makes it a step the Back button returns from. */
function syncUrl({ push = false } = {}) {
  const query = viewQuery({ pinned: false });
  const search = query ? `?${query}` : '';
  if (push && search !== location.search) history.pushState(null, '', search || location.pathname);
  else history.replaceState(null, '', search || location.pathname);
  const link = `${location.pathname}?${viewQuery({ pinned: true })}`;
  for (const a of document.querySelectorAll('a.permalink')) a.setAttribute('href', link);
}

function showError(error) {
  const el = $('error');
  el.textContent = error ? `Could not load the data: ${error.message}` : '';
  el.hidden = !error;
}


async function loadHistories() {
  const load = ++loads;
  const query = state.knownAt ? `?knownAt=${encodeURIComponent(state.knownAt)}` : '';
  const histories = await loading([$('timeline')], () => Promise.all(countries.map((c) => api(`/v1/countries/${encodeURIComponent(c.code)}/history${query}`))));
  if (load !== loads) return false;
  rows = histories.map((history) => ({
    code: history.country,
    name: history.name ?? history.country,
    intervals: history.intervals,
    // As known at knownAt the history lists only the statements reported by then (by reportedAt, or
    // sooner by an earlier source), each with its retraction only if that was reported by then too.
    statements: history.statements.map((s) => ({ ...s, retracted: Boolean(s.retraction) })),
    allStatements: history.statements,
  }));
  return true;
}

function drawTimeline() {
  const hadFocus = $('timeline').contains(document.activeElement);
  timeline = renderTimeline($('timeline'), rows, {
    asOf: state.at,
    today: todayUtc(),
    compress: state.compress,
    tooltip,
    focusedBand: state.focusedBand,
    onFocusBand: (band) => (state.focusedBand = band),
    onOpen: (code) => openCountry(code, { focus: true }),
  });
  if (hadFocus) timeline.refocus();
  const statements = rows.reduce((n, row) => n + row.statements.length, 0);
  $('timeline-note').textContent = state.knownAt
    ? `As known ${knownOn(state.knownAt)}: ${statements} statements reported by then; later reports are left out.`
    : `As known now: ${rows.length} countries, ${statements} statements.`;
}

async function showCountry() {
  const section = $('country');
  if (!state.country) return;
  const code = state.country;
  const query = new URLSearchParams({ at: state.at });
  if (state.knownAt) query.set('knownAt', state.knownAt);
  const [position, explained] = await loading([section], () => Promise.all([
    api(`/v1/countries/${encodeURIComponent(code)}/position?${query}`),
    // The explain endpoint is optional: without it the page explains from the position's basis.
    fetch(`/v1/countries/${encodeURIComponent(code)}/explain?${query}`, { headers: { accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : undefined))
      .catch(() => undefined),
  ]));
  // An answer that comes after the reader has moved on to another view is not shown.
  if (code !== state.country || state.at !== query.get('at') || state.knownAt !== (query.get('knownAt') ?? '')) return;
  const row = rows.find((r) => r.code === code);
  const statementsById = new Map((row?.allStatements ?? []).map((s) => [s.statementId, s]));
  const explanation = typeof explained?.text === 'string' && explained.text.trim()
    ? { paragraphs: explained.text.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean), fromService: true }
    : { paragraphs: explainFromBasis(position, statementsById), fromService: false };
  renderCountry(section, { position, explanation, statementsById, permalink: '' });
  const flags = [position.underReview ? 'under review' : '', position.endorsesLifting ? 'endorses lifting restrictions' : ''].filter(Boolean);
  $('announce').textContent = `${position.name ?? position.country}: ${STATUS_LABEL[position.status]}${flags.map((f) => `, ${f}`).join('')}, ` +
    `as of ${formatDay(position.at)}, ${state.knownAt ? `as known ${knownOn(state.knownAt)}` : 'as known now'}.`;
  syncUrl();
}

/** After a failed load: what is on screen answers other dates, so it goes rather than pass for the answer. */
function clearCountry() {
  if (!state.country) return;
  $('country').replaceChildren(
    h('h2', { id: 'country-heading' }, 'Country'),
    h('p', { class: 'placeholder' }, 'Not shown: the position could not be loaded (see the message above).'),
  );
}

async function openCountry(code, { focus } = {}) {
  state.country = code;
  $('country-select').value = code;
  syncUrl({ push: true });
  try {
    await showCountry();
    showError();
    if (focus) {
      $('country').scrollIntoView({ behavior: 'smooth', block: 'start' });
      $('country').focus({ preventScroll: true });
    }
  } catch (error) {
    clearCountry();
    showError(error);
  }
}

async function refresh({ histories, push = true }) {
  syncUrl({ push });
  try {
    // After a failed load there are no rows: any change tries them again.
    if ((histories || !rows.length) && !(await loadHistories())) return;
    drawTimeline();
  } catch (error) {
    // The bands on screen were for another knowledge time.
    rows = [];
    $('timeline').replaceChildren();
    $('timeline-note').textContent = '';
    clearCountry();
    showError(error);
    return;
  }
  try {
    await showCountry();
    showError();
  } catch (error) {
    clearCountry();
    showError(error);
  }
}

const tooltip = createTooltip($('tooltip'), document.querySelector('.timeline-section'));

/** The controls show the state. */
function showState() {
  $('at').value = state.at;
  $('knownAt').value = state.knownAt;
  $('compress').checked = state.compress;
  $('country-select').value = state.country;
}

function wireControls() {
  const at = $('at');
  const knownAt = $('knownAt');
  showState();

  at.addEventListener('change', () => {
    state.at = isDay(at.value) ? at.value : todayUtc();
    refresh({ histories: false });
  });
  knownAt.addEventListener('change', () => {
    state.knownAt = isDay(knownAt.value) ? knownAt.value : '';
    refresh({ histories: true });
  });
  $('knownAt-now').addEventListener('click', () => {
    knownAt.value = '';
    state.knownAt = '';
    refresh({ histories: true });
  });
  $('compress').addEventListener('change', (event) => {
    state.compress = event.target.checked;
    refresh({ histories: false });
  });
  $('country-select').addEventListener('change', (event) => {
    if (event.target.value) openCountry(event.target.value);
  });
  $('controls').addEventListener('submit', (event) => event.preventDefault());

  // Back and Forward: the view the URL now names.
  const placeholder = [...$('country').childNodes].map((node) => node.cloneNode(true));
  window.addEventListener('popstate', () => {
    const knownAtBefore = state.knownAt;
    Object.assign(state, { at: todayUtc(), knownAt: '', country: '' });
    showUnread(readUrl());
    showState();
    if (!state.country) $('country').replaceChildren(...placeholder.map((node) => node.cloneNode(true)));
    refresh({ histories: state.knownAt !== knownAtBefore, push: false });
  });

  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => rows.length && drawTimeline(), 150);
  });
}

async function start() {
  showUnread(readUrl());
  wireControls();
  // A permalink in the controls, for the timeline alone.
  $('controls').append(h('div', { class: 'field link-field' }, h('a', { class: 'permalink', href: '#' }, 'Link to this view')));
  try {
    ({ countries } = await loading([$('timeline')], () => api('/v1/countries')));
    countries.sort((a, b) => (a.name ?? a.code).localeCompare(b.name ?? b.code));
    $('country-select').append(...countries.map((c) => h('option', { value: c.code }, `${c.name ?? c.code} (${c.code})`)));
    $('country-select').value = state.country;
    await refresh({ histories: true, push: false });
    document.body.dataset.ready = 'true';
  } catch (error) {
    $('timeline').replaceChildren();
    showError(error);
  }
}

start();
