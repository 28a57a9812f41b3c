import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { countryStream } from '../../../events/registry.js';
import { countryName, countryNameInProse } from '../../../events/vocabulary.js';
import { explainPosition } from '../../../projections/explain.js';
import { derivePosition, isKnown, recordAsKnown } from '../../../projections/position.js';
import { emptyCountry } from '../../../projections/statement-record.js';
import { dayOf, KNOWN_NOW, knownAtInstant } from '../../../projections/time.js';
import { deriveHistory } from '../../../projections/timeline.js';
import type { AppDeps } from '../app.js';
import type { FeedBounds } from '../feed-bounds.js';
import { z } from 'zod';
import { CountriesView, CountryParams, HistoryQuery, HistoryView, PositionQuery, PositionView, Problem, Status } from '../schemas.js';
import { positionView, statementView } from '../views.js';
import { AnswerCache, bodyOf, nextKnowledgeAfter, type CachedAnswer } from '../answer-cache.js';
import { randomUUID } from 'node:crypto';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** Stands for the instant in an answer as known now; random, so no statement can contain it. */
const KNOWN_AT_MARK = `known-at-${randomUUID()}`;

export const countryRoutes = (deps: AppDeps, bounds: FeedBounds): FastifyPluginAsyncZod => async (app) => {
  const answers = new AnswerCache(deps.readModel.events);
  // Many requests arrive within one millisecond: its text is made once.
  let lastMs = Number.NaN;
  let lastText = '';
  const instantText = (ms: number) => {
    if (ms !== lastMs) {
      lastText = new Date(ms).toISOString();
      lastMs = ms;
    }
    return lastText;
  };
  app.addHook('onClose', async () => answers.close());

  app.get('/v1/countries', {
    schema: { summary: 'Every country on record with its current status', tags: ['positions'], response: { 200: CountriesView } },
  }, async () => {
    return {
      countries: deps.readModel.countrySummaries().map((c) => ({
        code: c.code,
        name: countryName(c.code),
        status: c.current.status,
        since: c.since,
        underReview: c.current.underReview,
        endorsesLifting: c.current.endorsesLifting,
        decidingStatementId: c.current.decidingStatementId,
        statements: c.statements,
        revision: c.revision,
      })),
    };
  });

  app.get('/v1/countries/:code/position', {
    schema: {
      summary: "A country's position as of a day, as known at a time, with the evidence behind it",
      tags: ['positions'],
      params: CountryParams,
      querystring: PositionQuery,
      // 503: as of a log position, the revision then may be read from the country's stream (revisionAt).
      response: { 200: PositionView, 503: Problem },
    },
  }, async (request, reply) => {
    const { code } = request.params;
    const { at: askedAt, knownAt: askedKnownAt, position: askedPosition } = request.query;
    const checkpoint = deps.readModel.checkpoint().position;
    const logPosition = askedPosition ?? checkpoint;
    if (logPosition > checkpoint) await bounds.applied(logPosition, 'querystring.position');
    const nowMs = deps.now().getTime();
    const nowText = askedAt === undefined || askedKnownAt === undefined ? instantText(nowMs) : '';
    const at = askedAt ?? nowText.slice(0, 10);
    const key = `${code} ${at} ${askedKnownAt ?? ''} ${askedPosition ?? ''}`;
    let answer = answers.get(key, checkpoint, nowMs);
    if (answer === undefined) {
      // As the service answered after that position: the country's revision then, too.
      const revision = askedPosition === undefined ? undefined : await revisionAt(code, askedPosition);
      const built = positionAnswer(code, at, askedKnownAt, logPosition, checkpoint, nowMs, revision, (view) => reply.serialize(view) as string);
      if (built.keep) answers.set(key, built.answer);
      answer = built.answer;
    }
    const body = bodyOf(answer, askedKnownAt ?? nowText);
    return reply.header('etag', answer.etag).header('content-type', JSON_CONTENT_TYPE).send(body as never);
  });

  /**
   * The country's stream revision after log position `position` (-1 before its first event):
   * its events up to there, counted in its record (each recording, source attached later and
   * retraction is one event), or read from its stream where the record does not hold every
   * event (a statement id recorded twice, before the API made that impossible).
   */
  async function revisionAt(code: string, position: number): Promise<number> {
    const record = deps.readModel.country(code) ?? emptyCountry(code);
    let all = 0;
    let upTo = 0;
    const count = (at: number) => {
      all += 1;
      if (at <= position) upTo += 1;
    };
    for (const statement of record.statements) {
      count(statement.position);
      for (const source of statement.sources) if (source.position !== statement.position) count(source.position);
      if (statement.retraction) count(statement.retraction.position);
    }
    if (all - 1 === record.revision) return upTo - 1;
    const events = await deps.store.readStream(countryStream(code));
    return events.filter((event) => event.position <= position).length - 1;
  }

  /**
   * The answer, serialised as the route's schema says. As known now, it is
   * serialised once with a marker in place of the instant and kept in parts
   * around it, so the cached body can be completed with any later instant.
   */
  function positionAnswer(
    code: string,
    at: string,
    askedKnownAt: string | undefined,
    logPosition: number,
    checkpoint: number,
    now: number,
    revisionThen: number | undefined,
    serialize: (view: unknown) => string,
  ): { answer: CachedAnswer; keep: boolean } {
    const record = deps.readModel.country(code) ?? emptyCountry(code);
    const revision = revisionThen ?? record.revision;
    const knownAt = askedKnownAt === undefined ? now : knownAtInstant(askedKnownAt);
    const derivation = derivePosition(record.statements, { at, knownAt, position: logPosition });
    const view = (knownAtText: string) =>
      positionView(code, derivation, record.statements, { at, knownAt: knownAtText, position: logPosition, revision }, knownAt);
    const etag = `"${revision}"`;
    if (askedKnownAt !== undefined) {
      const body = Buffer.from(serialize(view(askedKnownAt)));
      return { answer: { etag, body, from: 0, until: Number.POSITIVE_INFINITY, checkpoint, bytes: body.length }, keep: true };
    }
    const parts = serialize(view(KNOWN_AT_MARK)).split(`"${KNOWN_AT_MARK}"`);
    if (parts.length !== 3) {
      // Never expected (the marker is random), but then the body is built for this instant only.
      const body = Buffer.from(serialize(view(new Date(now).toISOString())));
      return { answer: { etag, body, from: now, until: now, checkpoint, bytes: body.length }, keep: false };
    }
    const [head, middle, tail] = parts.map((part, i) => Buffer.from(i === 0 ? `${part}"` : i === 2 ? `"${part}` : `"${part}"`));
    const bytes = head.length + middle.length + tail.length;
    return { answer: { etag, parts: [head, middle, tail], from: now, until: nextKnowledgeAfter(record, now), checkpoint, bytes }, keep: true };
  }

  app.get('/v1/countries/:code/explain', {
    schema: {
      summary: 'Why the position is what it is, in sentences with the quotes and sources',
      description: 'JSON with `text` and `markdown` fields by default; `Accept: text/markdown` gives the Markdown alone, `Accept: text/plain` the plain text alone.',
      tags: ['positions'],
      params: CountryParams,
      querystring: PositionQuery.omit({ position: true }),
      response: {
        200: {
          description: 'The explanation: as JSON, or as the Markdown or the plain text alone when asked for',
          content: {
            'application/json': { schema: z.object({ country: z.string(), at: z.string(), knownAt: z.string(), status: Status, text: z.string(), markdown: z.string() }) },
            'text/markdown': { schema: z.string().describe('the same explanation in Markdown, quotes set as block quotes') },
            'text/plain': { schema: z.string().describe('the same explanation as plain text, the `text` field of the JSON') },
          },
        },
      },
    },
  }, async (request, reply) => {
    const { code } = request.params;
    const now = deps.now();
    const { at, knownAt, record, derivation } = derive(code, request.query, deps.readModel.checkpoint().position, now);
    // A knownAt of a day, or none (now), is written as its day; an instant asked for, with its time.
    const knownAtIsInstant = (request.query.knownAt?.length ?? 0) > 10;
    const query = { at, knownAtInstant: knownAtInstant(knownAt), knownAtIsInstant, now: now.getTime() };
    const explanation = explainPosition(countryNameInProse(code) ?? code, derivation, record.statements, query);
    // JSON unless the client prefers Markdown or plain text (q-values count: `text/markdown;q=0` refuses it). In this order,
    // JSON wins a tie (`*/*`), and Markdown a tie between the two texts (`text/*`), as before plain text was offered.
    const preferred = request.accepts().type(['application/json', 'text/markdown', 'text/plain']);
    // The answer's type depends on Accept: a shared cache must not hand one client's Markdown to another asking for JSON.
    varyByAccept(reply);
    if (preferred === 'text/markdown' || preferred === 'text/plain') {
      const body = preferred === 'text/markdown' ? explanation.markdown : explanation.text;
      return reply.type(`${preferred}; charset=utf-8`).serializer((payload) => payload as string).send(body as never);
    }
    return { country: code, at, knownAt, status: derivation.status, ...explanation };
  });

  /** Adds Accept to Vary, beside what is there (CORS's Origin). */
  function varyByAccept(reply: FastifyReply): void {
    const vary = reply.getHeader('vary');
    reply.header('vary', vary ? `${String(vary)}, Accept` : 'Accept');
  }

  function derive(code: string, query: { at?: string; knownAt?: string }, logPosition: number, now: Date) {
    const at = query.at ?? dayOf(now.getTime());
    const knownAt = query.knownAt ?? now.toISOString();
    const record = deps.readModel.country(code) ?? emptyCountry(code);
    const derivation = derivePosition(record.statements, { at, knownAt: knownAtInstant(knownAt), position: logPosition });
    return { at, knownAt, record, derivation };
  }

  app.get('/v1/countries/:code/history', {
    schema: {
      summary: "A country's timeline of positions and the statements behind it",
      tags: ['positions'],
      params: CountryParams,
      querystring: HistoryQuery,
      response: { 200: HistoryView },
    },
  }, async (request) => {
    const { code } = request.params;
    const record = deps.readModel.country(code) ?? emptyCountry(code);
    const knownAt = request.query.knownAt;
    const known = knownAt ? knownAtInstant(knownAt) : KNOWN_NOW;
    return {
      country: code,
      name: countryName(code),
      knownAt: knownAt ?? deps.now().toISOString(),
      intervals: deriveHistory(record.statements, { knownAt: known }),
      // As known then: statements reported by then, each with what had come to light about it.
      statements: record.statements.filter((s) => isKnown(s, known)).map((s) => statementView(recordAsKnown(s, known))),
    };
  });
};
