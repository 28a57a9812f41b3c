// The access log: one line per request. Fastify's own writes two ("incoming
// request", then "request completed" with neither the method nor the route),
// which doubles the volume and makes an operator join lines by reqId to learn
// what a slow or failed request was.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Machines ask these every few seconds (a load balancer's or Kubernetes' probes, a Prometheus
 * scrape): answered, their lines are at debug, so the info log holds what people asked. An
 * answer of 4xx or 5xx (a readiness 503) is at info like any other.
 */
const PROBES = new Set(['/health/live', '/health/ready', '/metrics']);

export class RequestLog extends LogController {
  override incomingRequest(): void {
    // Nothing on arrival: the line written on completion says it all.
  }

  /**
   * At info whatever the status: a 4xx is the client's mistake, not the service's, and a 5xx has
   * its own line from the error handler, with the stack. The route is the pattern
   * (/v1/statements/:id), to group by; the URL is the path and query as sent. Never headers
   * (Authorization) nor bodies.
   */
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      route: request.routeOptions.url,
      url: request.url,
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
    };
    // The answer could not be written whole (the client went away, a stream failed).
    if (error) reply.log.warn({ ...line, err: error }, 'request failed while answering');
    else if (reply.statusCode < 400 && PROBES.has(line.route ?? '')) reply.log.debug(line, 'request completed');
    else reply.log.info(line, 'request completed');
  }
}
