// Bearer-key checks for write and admin routes. The key's name (never its
// secret) goes on the request for logs and event metadata.
//
// Routes declare a check as `preHandler: requireRole(keys, role)`;
// checkKeysFirst moves it to onRequest, so a request without a valid key is
// refused before its body is read or validated (401/403, never a 400 that
// tells an unauthenticated client about the schema), and writes the role
// into the route's OpenAPI `security`, so the document states what is enforced.
import type { FastifyInstance, FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import { findKey, roleAllows, type Role } from '../auth/api-keys.js';
import type { ApiKey } from '../config.js';
import { forbidden, unauthorized } from './problems.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
}

const REQUIRED_ROLE = Symbol('requiredRole');
type KeyCheck = preHandlerHookHandler & { [REQUIRED_ROLE]: Role };

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const NO_KEY = Object.freeze({ presented: false, key: undefined });
const presentedKeys = new WeakMap<FastifyRequest, { presented: boolean; key: ApiKey | undefined }>();

/**
 * The bearer token a request presents and the configured key it belongs to, looked up once
 * per request: the per-key rate limit and the role check both ask, and each lookup hashes.
 */
export function presentedKey(request: FastifyRequest, keys: readonly ApiKey[]): { presented: boolean; key: ApiKey | undefined } {
  const header = request.headers.authorization;
  // Most reads present no key: nothing to look up or remember.
  if (header === undefined) return NO_KEY;
  let found = presentedKeys.get(request);
  if (!found) {
    const secret = BEARER.exec(header)?.[1];
    found = { presented: secret !== undefined, key: secret !== undefined ? findKey(keys, secret) : undefined };
    presentedKeys.set(request, found);
  }
  return found;
}

export function requireRole(keys: readonly ApiKey[], role: Role): preHandlerHookHandler {
  const check = async (request: FastifyRequest) => {
    const { presented, key } = presentedKey(request, keys);
    if (!presented) throw unauthorized();
    if (!key) throw unauthorized('the API key is not valid', true);
    if (!roleAllows(key.role, role)) throw forbidden(`this route needs a key with the ${role} role; "${key.name}" is a ${key.role} key`);
    request.apiKey = key;
    request.log.debug({ apiKey: key.name }, 'authorised');
  };
  return Object.assign(check, { [REQUIRED_ROLE]: role }) as KeyCheck;
}

const isKeyCheck = (hook: unknown): hook is KeyCheck => typeof hook === 'function' && REQUIRED_ROLE in hook;

/** Installs the onRoute hook described at the top; call it before any route is registered. */
export function checkKeysFirst(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const preHandlers = [route.preHandler ?? []].flat();
    const checks = preHandlers.filter(isKeyCheck);
    if (checks.length === 0) return;
    route.preHandler = preHandlers.filter((hook) => !isKeyCheck(hook));
    route.onRequest = [...[route.onRequest ?? []].flat(), ...(checks as unknown as onRequestHookHandler[])];
    const role = checks.map((check) => check[REQUIRED_ROLE]).reduce((a, b) => (roleAllows(a, b) ? a : b));
    // OpenAPI 3.1 lets a security requirement of an http scheme list the roles it needs.
    route.schema = { ...route.schema, security: [{ bearer: [role] }] };
  });
}
