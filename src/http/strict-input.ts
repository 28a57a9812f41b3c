// What the API accepts before any schema looks at a request: JSON in UTF-8
// only, no query parameter a route does not know, and errors Fastify raises
// before routing (a malformed URL, an over-long path parameter) as problem
// documents like every other error.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { sendProblem } from './error-handler.js';
import { badRequest, HttpProblem } from './problems.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The API's own routes: these answer 400 to an unknown query parameter, as the routes with a query schema already did. */
const API_ROUTE = /^\/(v1|health)\//;
const NoQuery = z.object({}).strict();

/**
 * Where a parsed body holds a key that code merging objects could turn into
 * prototype pollution: `__proto__`, or `constructor` holding `prototype` (the
 * keys Fastify's parser refuses). Iterative, as deep nesting must not overflow the stack.
 */
export function pollutingKey(body: unknown): { path: string; key: string } | undefined {
  interface Node { value: unknown; key: string; parent?: Node }
  const pathOf = (node: Node): string => (node.parent ? `${pathOf(node.parent)}.${node.key}` : node.key);
  const stack: Node[] = [{ value: body, key: 'body' }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.value === null || typeof node.value !== 'object') continue;
    for (const [key, child] of Object.entries(node.value)) {
      const at: Node = { value: child, key, parent: node };
      if (key === '__proto__') return { path: pathOf(at), key };
      if (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype')) return { path: pathOf(at), key };
      stack.push(at);
    }
  }
  return undefined;
}

/** Parses a JSON body; what is wrong with one that is not acceptable is said in the problem's `errors`, at `body`. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') {
    throw badRequest('the body is empty: this request takes a JSON document', [{ path: 'body', message: 'is empty; send a JSON document' }]);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    // V8's reason, e.g. "Expected ',' or '}' after property value in JSON at position 12"; it quotes at most a few characters of the body.
    const reason = error instanceof SyntaxError ? error.message.slice(0, 200) : 'it could not be parsed';
    throw badRequest(`the body is not valid JSON: ${reason}`, [{ path: 'body', message: `is not valid JSON: ${reason}` }]);
  }
  const polluting = pollutingKey(body);
  if (polluting) {
    const why =
      polluting.key === '__proto__'
        ? 'a "__proto__" key is refused: it could change the prototype of objects built from the body'
        : 'a "constructor" key holding "prototype" is refused: it could change the prototype of objects built from the body';
    throw badRequest(`the body holds a key that is refused: ${polluting.path}`, [{ path: polluting.path, message: why }]);
  }
  return body;
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
}

const FRAMEWORK_TITLES: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 414: 'URI Too Long', 431: 'Request Header Fields Too Large' };

/** Fastify's `frameworkErrors` option: errors raised before a route is found. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const detail = error.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid: a path segment is not valid percent-encoded UTF-8' : error.message;
  sendProblem(reply, request, new HttpProblem(status, FRAMEWORK_TITLES[status] ?? 'Bad Request', detail));
}
