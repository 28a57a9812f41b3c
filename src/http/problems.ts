// The catalogue of errors the API answers with, each with its status, mapped
// once to an RFC 9457 problem document in the error handler.

export interface FieldError {
  path: string;
  message: string;
}

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  get type(): string {
    return `https://policy-state.dev/problems/${this.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) => new HttpProblem(400, 'Bad Request', detail, errors);
/** RFC 6750 3.1: no key is a bare challenge; a key presented and not known says `invalid_token`. */
export const unauthorized = (detail = 'a Bearer API key is required', invalidToken = false) =>
  new HttpProblem(401, 'Unauthorized', detail, undefined, { 'www-authenticate': invalidToken ? 'Bearer error="invalid_token"' : 'Bearer' });
export const forbidden = (detail: string) => new HttpProblem(403, 'Forbidden', detail);
export const notFound = (detail: string) => new HttpProblem(404, 'Not Found', detail);
/** RFC 9110 15.5.6: a 405 names the methods the resource does answer to. */
export const methodNotAllowed = (detail: string, allowed: string[]) =>
  new HttpProblem(405, 'Method Not Allowed', detail, undefined, { allow: allowed.join(', ') });
export const conflict = (detail: string) => new HttpProblem(409, 'Conflict', detail);
export const unprocessable = (detail: string, errors?: FieldError[]) => new HttpProblem(422, 'Unprocessable Content', detail, errors);
export const tooManyRequests = (detail: string, retryAfterSeconds: number) =>
  new HttpProblem(429, 'Too Many Requests', detail, undefined, { 'retry-after': String(retryAfterSeconds) });
export const unavailable = (detail: string, retryAfterSeconds = 5) =>
  new HttpProblem(503, 'Service Unavailable', detail, undefined, { 'retry-after': String(retryAfterSeconds) });
