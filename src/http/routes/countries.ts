import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { countryName } from '../../../events/vocabulary.js';
import { derivePosition } from '../../../projections/position.js';
import { emptyCountry } from '../../../projections/statement-record.js';
import { dayOf, KNOWN_NOW, knownAtInstant } from '../../../projections/time.js';
import { deriveTimeline, intervalAt } from '../../../projections/timeline.js';
import type { AppDeps } from '../app.js';
import { badRequest } from '../problems.js';
import { CountriesView, CountryParams, HistoryQuery, HistoryView, PositionQuery, PositionView } from '../schemas.js';
import { positionView, statementView } from '../views.js';

export const countryRoutes = (deps: AppDeps): FastifyPluginAsyncZod => async (app) => {
  const today = () => dayOf(deps.now().getTime());

  app.get('/v1/countries', {
    schema: { summary: 'Every country on record with its current status', tags: ['positions'], response: { 200: CountriesView } },
  }, async () => {
    const day = today();
    return {
      countries: deps.readModel.countrySummaries().map((c) => ({
        code: c.code,
        name: countryName(c.code),
        status: c.current.status,
        since: intervalAt(c.timeline, day)?.from ?? null,
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
      response: { 200: PositionView },
    },
  }, async (request, reply) => {
    const { code } = request.params;
    const checkpoint = deps.readModel.checkpoint().position;
    const logPosition = request.query.position ?? checkpoint;
    if (logPosition > checkpoint) {
      throw badRequest(`the read model has applied the log up to position ${checkpoint}`, [
        { path: 'querystring.position', message: `must be at most ${checkpoint}` },
      ]);
    }
    const at = request.query.at ?? today();
    const knownAt = request.query.knownAt ?? deps.now().toISOString();
    const record = deps.readModel.country(code) ?? emptyCountry(code);
    const derivation = derivePosition(record.statements, { at, knownAt: knownAtInstant(knownAt), position: logPosition });
    reply.header('etag', `"${record.revision}"`);
    return positionView(code, derivation, record.statements, { at, knownAt, position: logPosition, revision: record.revision });
  });

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
    return {
      country: code,
      name: countryName(code),
      knownAt: knownAt ?? deps.now().toISOString(),
      intervals: deriveTimeline(record.statements, { knownAt: knownAt ? knownAtInstant(knownAt) : KNOWN_NOW }),
      statements: record.statements.map(statementView),
    };
  });
};
