// Bearer-key checks for write and admin routes. The key's name (never its
// secret) goes on the request for logs and event metadata.
import type { FastifyRequest, preHandlerHookHandler } from 'fastify';
import { findKey, roleAllows, type Role } from '../auth/api-keys.js';
import type { ApiKey } from '../config.js';
import { forbidden, unauthorized } from './problems.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
}

export function requireRole(keys: readonly ApiKey[], role: Role): preHandlerHookHandler {
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw unauthorized();
    const key = findKey(keys, match[1]);
    if (!key) throw unauthorized('the API key is not valid');
    if (!roleAllows(key.role, role)) throw forbidden(`this route needs a key with the ${role} role; "${key.name}" is a ${key.role} key`);
    request.apiKey = key;
    request.log.debug({ apiKey: key.name }, 'authorised');
  };
}
