import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DuplicateEventError } from '../../store/event-store.js';
import { recordingEventId, type WriteOptions, type WriteResult } from '../../statements/statement-service.js';
import { StatementExistsError } from '../../statements/errors.js';
import type { AppDeps } from '../app.js';
import type { FeedBounds } from '../feed-bounds.js';
import { requireRole } from '../auth.js';
import { oncePerKey, writeContext, type IdempotentWrite } from '../idempotency.js';
import { notFound } from '../problems.js';
import {
  AttachSourceBody,
  expectedRevisionOf,
  Problem,
  RecordStatementBody,
  RetractBody,
  StatementPage,
  StatementParams,
  StatementsQuery,
  StatementView,
  WriteHeaders,
  WriteResultView,
} from '../schemas.js';
import { statementView } from '../views.js';

export const statementRoutes = (deps: AppDeps, bounds: FeedBounds): FastifyPluginAsyncZod => async (app) => {
  const writer = requireRole(deps.keys, 'writer');
  // 413 and 415, which every route that reads a body can answer, openapi.ts adds. 503: the event store cannot be reached.
  const problems = { 400: Problem, 401: Problem, 403: Problem, 409: Problem, 422: Problem, 503: Problem };
  // A retraction or a source names a statement that may not be on record; a new statement names none
  // that must be (a supersedes that is not is a 422).
  const aboutOne = { ...problems, 404: Problem };

  /**
   * Runs a write once per Idempotency-Key; a repeat gets the first answer, rebuilt from the event it
   * appended (found by the key, or at `eventId`, the event id a statement whose id the client chose is
   * appended under).
   */
  async function idempotent(write: IdempotentWrite, run: () => Promise<WriteResult>, eventId?: string): Promise<{ result: WriteResult; replayed: boolean }> {
    const answerOf = (event: { data: unknown; streamId: string; position: number; streamRevision: number }) => ({
      statementId: (event.data as { statementId: string }).statementId,
      country: event.streamId.replace(/^country-/, ''),
      position: event.position,
      revision: event.streamRevision,
    });
    // Two requests with the same key can race; the loser answers as a repeat. (A statement id the
    // client chose is refused as taken when its event is there; whose it is decides.)
    const lostRace = (error: unknown) => error instanceof DuplicateEventError || error instanceof StatementExistsError;
    const outcome = await oncePerKey(deps.store, write, run, lostRace, eventId);
    return 'earlier' in outcome ? { result: answerOf(outcome.earlier), replayed: true } : { result: outcome.result, replayed: false };
  }

  /** Every write answers the same way: once, whatever the retries (Idempotency-Key), 201 with the stream revision as ETag. */
  async function answerWrite(request: FastifyRequest, reply: FastifyReply, run: (options: WriteOptions) => Promise<WriteResult>, created = false) {
    const write = writeContext(request);
    const chosenId = created ? (request.body as { statementId?: string }).statementId : undefined;
    const { result, replayed } = await idempotent(
      write,
      () => run({ ...write, expectedRevision: expectedRevisionOf(request.headers['if-match'] as string | undefined) }),
      chosenId === undefined ? undefined : recordingEventId(chosenId),
    );
    if (created) reply.header('location', `/v1/statements/${encodeURIComponent(result.statementId)}`);
    return reply.code(201).header('etag', `"${result.revision}"`).header('idempotent-replayed', String(replayed)).send(result);
  }

  app.get('/v1/statements', {
    schema: { summary: 'Statements, in log order, paged', tags: ['statements'], querystring: StatementsQuery, response: { 200: StatementPage, 400: Problem, 503: Problem } },
  }, async (request) => {
    const { cursor, limit, ...filter } = request.query;
    // A cursor is a log position a page gave: one past the head was not, and would hide statements to come.
    if (cursor) await bounds.notPastTheHead(Number(cursor), 'querystring.cursor');
    const items = deps.readModel.statements({ ...filter, afterPosition: cursor ? Number(cursor) : 0, limit });
    return {
      items: items.map(statementView),
      nextCursor: items.length === limit ? String(items[items.length - 1].position) : null,
    };
  });

  app.get('/v1/statements/:id', {
    schema: { summary: 'One statement with its sources and whether it was retracted', tags: ['statements'], params: StatementParams, response: { 200: StatementView, 404: Problem } },
  }, async (request) => {
    const statement = deps.readModel.statement(request.params.id);
    if (!statement) throw notFound(`no statement with id "${request.params.id}" is on record`);
    return statementView(statement);
  });

  app.post('/v1/statements', {
    preHandler: writer,
    schema: {
      summary: 'Record a statement',
      description: 'Appends a StatementRecorded event to the country stream. Send If-Match with a revision to write only against that state ("-1": only if the country has no statements yet); send Idempotency-Key to make retries safe (a retry gets the first answer, 201 with Idempotent-Replayed: true). Refused with 422, naming the field: reportedAt or a source\'s publishedAt more than 5 minutes ahead of the service\'s clock (up to 5 minutes ahead it is recorded as the service\'s now); datePrecision "month" with an effectiveAt other than the first of its month; a system named in both scope.weapons and scope.excludedWeapons (in any letter case), or excludedWeapons in a prohibition; the same report listed twice in sources.',
      tags: ['statements'],
      security: [{ bearer: [] }],
      headers: WriteHeaders,
      body: RecordStatementBody,
      response: { 201: WriteResultView, ...problems },
    },
  }, async (request, reply) => answerWrite(request, reply, (options) => deps.statements.record(request.body, options), true));

  app.post('/v1/statements/:id/retraction', {
    preHandler: writer,
    schema: {
      summary: 'Retract a statement that was misreported or never said',
      description: 'For a record that was wrong; a real walk-back is a new statement. reportedAt (and the source\'s publishedAt) up to 5 minutes ahead of the service\'s clock is recorded as its now; further ahead is a 422.',
      tags: ['statements'],
      security: [{ bearer: [] }],
      headers: WriteHeaders,
      params: StatementParams,
      body: RetractBody,
      response: { 201: WriteResultView, ...aboutOne },
    },
  }, async (request, reply) => answerWrite(request, reply, (options) => deps.statements.retract(request.params.id, request.body, options)));

  app.post('/v1/statements/:id/sources', {
    preHandler: writer,
    schema: {
      summary: 'Attach a corroborating source to a statement',
      description: 'The same report again (same URL, or same publisher, title and day) is a 409: a source counts once. publishedAt up to 5 minutes ahead of the service\'s clock is recorded as its now; further ahead is a 422.',
      tags: ['statements'],
      security: [{ bearer: [] }],
      headers: WriteHeaders,
      params: StatementParams,
      body: AttachSourceBody,
      response: { 201: WriteResultView, ...aboutOne },
    },
  }, async (request, reply) => answerWrite(request, reply, (options) => deps.statements.attachSource(request.params.id, request.body.source, options)));
};
