// Which methods a path answers to, for a 405 with its Allow header (RFC 9110
// 15.5.6) where Fastify answers 404 to any method it has no route for. Every
// route is registered again, method by method, in a router of its own: the
// same router Fastify uses (find-my-way), with the same options, so a path
// matches here exactly when it matches there.
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { FastifyInstance } from 'fastify';

export type AllowedMethods = (path: string) => string[];

/** Tracks every route registered from now on; returns what a path allows. Call before registering routes. */
export function trackAllowedMethods(app: FastifyInstance, routerOptions: { maxParamLength?: number } = {}): AllowedMethods {
  const router = FindMyWay({ ...routerOptions });
  const methods = new Set<string>();
  const noop = () => undefined;
  app.addHook('onRoute', (route) => {
    // A catch-all (@fastify/cors's OPTIONS route for preflights, answered in its hook) says nothing of what a path answers to.
    if (route.url === '*') return;
    // A plugin's '/' under a prefix is registered as '/prefix' and, without this hook, '/prefix/' too.
    const urls = route.routePath === '' && route.prefix && route.prefixTrailingSlash !== 'no-slash' ? [route.url, `${route.url}/`] : [route.url];
    for (const method of [route.method].flat()) {
      for (const url of urls) {
        // Fastify adds a HEAD route beside each GET itself, through this hook too.
        if (router.hasRoute(method as HTTPMethod, url)) continue;
        router.on(method as HTTPMethod, url, noop);
        methods.add(method);
      }
    }
  });
  return (path) => [...methods].filter((method) => router.find(method as HTTPMethod, path) !== null).sort();
}
