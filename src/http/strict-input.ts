// What the API accepts before any schema looks at a request: JSON in UTF-8
// only, no query parameter a route does not know nor one given twice, and errors Fastify raises
// before routing (a malformed URL, an over-long path parameter) as problem
// documents like every other error.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import secureJson from 'secure-json-parse';
import { z } from 'zod';
import { sendProblem } from './error-handler.js';
import { badRequest, HttpProblem } from './problems.js';
import { API_SECURITY_HEADERS } from './security-headers.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The API's own routes: these answer 400 to an unknown query parameter, as the routes with a query schema already did. */
const API_ROUTE = /^\/(v1|health)\//;
const NoQuery = z.object({}).strict();

/** Parses a JSON body; what is wrong with one that is not acceptable is said in the problem's `errors`, at `body`. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') {
    throw badRequest('the body is empty: this request takes a JSON document', [{ path: 'body', message: 'is empty; send a JSON document' }]);
  }
  try {
    // secure-json-parse, as Fastify's own parser: refuses __proto__, and constructor holding prototype.
    return secureJson.parse(text, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    if (error instanceof SyntaxError && /forbidden prototype property/.test(error.message)) {
      const why = 'holds a "__proto__" key, or a "constructor" key holding "prototype": refused, as it could change the prototype of objects built from the body';
      throw badRequest(`the body ${why}`, [{ path: 'body', message: why }]);
    }
    // V8's reason, e.g. "Expected ',' or '}' after property value in JSON at position 12"; it quotes at most a few characters of the body.
    const reason = error instanceof SyntaxError ? error.message.slice(0, 200) : 'it could not be parsed';
    throw badRequest(`the body is not valid JSON: ${reason}`, [{ path: 'body', message: `is not valid JSON: ${reason}` }]);
  }
}

export function installStrictInput(app: FastifyInstance): void {
  // Fastify's parser decodes the body leniently: invalid UTF-8 became U+FFFD and
  // could be recorded as evidence. Decode strictly, then parse refusing __proto__
  // and constructor.prototype keys as Fastify's parser does, but saying in the
  // problem's errors what is wrong (empty, not JSON and why, or which key).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(new HttpProblem(415, 'Unsupported Media Type', `JSON bodies are UTF-8; charset=${charset.slice(0, 40)} is not accepted`), undefined);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(badRequest('the body is not valid UTF-8', [{ path: 'body', message: 'is not valid UTF-8' }]), undefined);
      return;
    }
    let parsed: unknown;
    try {
      parsed = parseJsonBody(text);
    } catch (error) {
      done(error as HttpProblem, undefined);
      return;
    }
    done(null, parsed);
  });

  app.addHook('onRoute', (route) => {
    if (API_ROUTE.test(route.url) && !route.schema?.querystring) route.schema = { ...route.schema, querystring: NoQuery };
  });

  // Every query parameter takes one value. Given twice (`limit=3&limit=4`) it arrives as an array,
  // which each schema would refuse as the wrong form ("must be a whole number"): say what it is.
  app.addHook('preValidation', (request, _reply, done) => {
    const query = request.query as Record<string, unknown> | undefined;
    let repeated: string[] | undefined;
    for (const name in query) if (Array.isArray(query[name])) (repeated ??= []).push(name);
    if (repeated) {
      const errors = repeated.map((name) => ({ path: `querystring.${name}`, message: 'is given more than once: give it once' }));
      done(badRequest(`${repeated.join(', ')} given more than once`, errors));
      return;
    }
    done();
  });
}

const FRAMEWORK_TITLES: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 414: 'URI Too Long', 431: 'Request Header Fields Too Large' };

/** Fastify's `frameworkErrors` option: errors raised before a route is found. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const detail = error.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid: a path segment is not valid percent-encoded UTF-8' : error.message;
  sendProblem(reply, request, new HttpProblem(status, FRAMEWORK_TITLES[status] ?? 'Bad Request', detail));
}

/**
 * Fastify's `clientErrorHandler` option: a request node's HTTP parser refused before
 * Fastify saw it (headers past node's 16 KB limit, the URL included; bytes HTTP does
 * not allow; a request that took too long to arrive). Fastify's default answers with
 * its own JSON; this answers with a problem document like every other error, then
 * closes the connection, as node and Fastify do (the stream is not in a known state).
 * Fastify calls it with the instance as `this`: the access log gets its line, with
 * the status and node's code for why, but nothing of what was sent (it may hold a key).
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string; reason?: string }, socket: Socket): void {
  // A reset connection has no one to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new HttpProblem(408, 'Request Timeout', 'the request did not arrive in time; send it again')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new HttpProblem(431, 'Request Header Fields Too Large', 'the request line and headers are larger than the server accepts (16 KB): shorten the URL or the headers')
        : new HttpProblem(400, 'Bad Request', `the request is not valid HTTP/1.1: ${(error.reason ?? 'it could not be parsed').slice(0, 100)}`);
  this.log.info({ statusCode: problem.status, refusedBy: 'http-parser', code: error.code, remoteAddress: socket.remoteAddress }, 'request completed');
  // As node's own default: not when a response on this connection (a stream, a pipelined request's
  // predecessor) has begun, whose body the problem would land in the middle of.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const { headers, body } = closingProblem(problem);
    const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.write(`HTTP/1.1 ${problem.status} ${problem.title}\r\n${head}\r\n${body}`);
  }
  socket.destroy(error);
}

/**
 * node's 'checkExpectation': a request with an Expect header other than 100-continue, which
 * node would answer with a bare 417. The same problem document as every other error, and
 * its access-log line (bound to the Fastify instance, as clientErrorHandler is).
 */
export function expectationFailed(this: FastifyInstance, request: IncomingMessage, response: ServerResponse): void {
  this.log.info({ method: request.method, url: request.url, statusCode: 417, refusedBy: 'expect-header', remoteAddress: request.socket.remoteAddress }, 'request completed');
  const { headers, body } = closingProblem(
    new HttpProblem(417, 'Expectation Failed', 'the Expect header asks for something this service does not do; send the request without it (100-continue is the one expectation it meets)'),
  );
  response.writeHead(417, headers).end(body);
}

/** A problem written below Fastify, with the API's security headers, closing the connection. */
function closingProblem(problem: HttpProblem): { headers: Record<string, string>; body: string } {
  const body = JSON.stringify({ type: problem.type, title: problem.title, status: problem.status, detail: problem.message });
  return { body, headers: { ...API_SECURITY_HEADERS.plain, 'content-type': 'application/problem+json', 'content-length': String(Buffer.byteLength(body)), connection: 'close' } };
}
