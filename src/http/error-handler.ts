// Every error becomes an application/problem+json document (RFC 9457). Bad
// input is a 4xx naming the field; a 5xx never shows internals.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ReplayOutOfMemoryError } from '../audit/replay-in-worker.js';
import { DomainRuleError, StatementExistsError, StatementNotFoundError } from '../statements/errors.js';
import { DuplicateEventError, StreamConflictError, StoreUnavailableError } from '../store/event-store.js';
import { DnsUnavailableError } from '../webhooks/endpoint-service.js';
import { trackAllowedMethods } from './allowed-methods.js';
import { HttpProblem, badRequest, conflict, methodNotAllowed, notFound, unavailable, unprocessable } from './problems.js';

function toProblem(error: FastifyError | Error): HttpProblem | undefined {
  if (error instanceof HttpProblem) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as { validationContext?: string }).validationContext ?? 'request';
    const errors = error.validation.map((issue) => ({
      path: [where, ...issue.instancePath.split('/').filter(Boolean)].join('.'),
      message: issue.message ?? 'is not valid',
    }));
    return badRequest(`invalid ${where}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors);
  }
  if (error instanceof StatementNotFoundError) return notFound(error.message);
  if (error instanceof StatementExistsError) return conflict(error.message);
  if (error instanceof StreamConflictError) {
    return conflict(`${error.message}; read the country again and retry with its current revision`);
  }
  if (error instanceof DomainRuleError) {
    const errors = [{ path: `body.${error.field}`, message: error.message }];
    return error.status === 409 ? conflict(error.message) : unprocessable(`body.${error.field} ${error.message}`, errors);
  }
  if (error instanceof ReplayOutOfMemoryError) return unavailable(error.message, 60);
  if (error instanceof DuplicateEventError) return conflict('this request was already written with another body, or raced with one that was');
  if (error instanceof StoreUnavailableError) return unavailable(`the event store is unavailable: ${error.message}`);
  if (error instanceof DnsUnavailableError) return unavailable(`the URL's host could not be checked, DNS did not answer: ${error.message}`, 30);
  const status = (error as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) {
    const code = (error as FastifyError).code;
    const titles: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable', 413: 'Content Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests' };
    const detail = code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'the body must be application/json' : error.message;
    return new HttpProblem(status, titles[status] ?? 'Bad Request', detail);
  }
  return undefined;
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, problem: HttpProblem): FastifyReply {
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .serializer(JSON.stringify)
    .send({
      type: problem.type,
      title: problem.title,
      status: problem.status,
      detail: problem.message,
      instance: request.url,
      ...(problem.errors ? { errors: problem.errors } : {}),
    });
}

/** Installs the error and not-found handlers; call before registering routes (a 405 needs to know them all). */
export function installErrorHandling(app: FastifyInstance, routerOptions?: { maxParamLength?: number }): void {
  const allowedMethods = trackAllowedMethods(app, routerOptions);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = toProblem(error);
    if (problem) {
      if (problem.status >= 500) request.log.warn({ err: error }, problem.message);
      return sendProblem(reply, request, problem);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, request, new HttpProblem(500, 'Internal Server Error', 'something went wrong on our side; the request id is in the x-request-id header'));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = allowedMethods(path);
    if (allowed.length === 0) return sendProblem(reply, request, notFound(`no route ${request.method} ${path}`));
    return sendProblem(reply, request, methodNotAllowed(`${path} answers ${allowed.join(', ')}, not ${request.method}`, allowed));
  });
}
