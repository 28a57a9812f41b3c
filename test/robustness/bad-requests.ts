// fast-check arbitraries of bad requests, read off the OpenAPI document: for
// each operation, requests that break it in at least one way its schema
// forbids (a wrong type, a missing or unknown field, a string past its
// maximum, deep nesting, an impossible date, an unknown code, invalid UTF-8,
// a wrong content type, a body past the limit), on top of values that are
// otherwise plausible, so the broken part is often the only broken part.
import fc from 'fast-check';
import { CountryCode } from '../../events/vocabulary.js';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
}

export interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: JsonSchema;
  /** The roles in its bearer security requirement; undefined for a public operation. */
  roles?: string[];
}

export interface BadRequest {
  /** Which rule the request breaks, for the tally. */
  kind: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

export function operationsOf(doc: { paths: Record<string, Record<string, Record<string, unknown>>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = (op.requestBody as { content?: Record<string, { schema: JsonSchema }> } | undefined)?.content?.['application/json']?.schema;
      const security = op.security as Array<Record<string, string[]>> | undefined;
      operations.push({ method: method.toUpperCase(), path, parameters: (op.parameters as Parameter[] | undefined) ?? [], body, roles: security?.[0]?.bearer });
    }
  }
  return operations;
}

// ---- plausible values -------------------------------------------------------

const COUNTRIES = ['US', 'FR', 'DE', 'GB', 'CA', 'BE', 'NL', 'PL', 'NO', 'UA'];
const day = fc.date({ min: new Date('2000-01-01'), max: new Date('2030-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const instant = fc.date({ min: new Date('2000-01-01'), max: new Date('2030-12-31'), noInvalidDate: true }).map((d) => d.toISOString());
const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,20}[a-z]$/);

function typeOf(schema: JsonSchema): string | undefined {
  return Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
}

/** A value the schema (as far as the document says) accepts. */
export function plausible(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map(plausible));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (typeOf(schema)) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? 0, -1e9), max: Math.min(schema.maximum ?? 1e6, 1e9) });
    case 'number':
      return fc.double({ min: schema.minimum ?? 0, max: schema.maximum ?? 1e6, noNaN: true });
    case 'array': {
      const min = schema.minItems ?? 0;
      return fc.array(plausible(schema.items ?? {}), { minLength: min, maxLength: Math.max(min, Math.min(schema.maxItems ?? 3, 3)) });
    }
    case 'object': {
      const properties = schema.properties ?? {};
      if (Object.keys(properties).length === 0) return fc.constant({});
      return fc.record(Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, plausible(s)])), { requiredKeys: schema.required ?? [] });
    }
    case 'string':
      if (schema.format === 'date') return day;
      if (schema.format === 'date-time') return instant;
      if (schema.format === 'uri') return fc.constantFrom('https://example.org/report', 'http://127.0.0.1:9/hooks');
      if (schema.pattern === '^[A-Z]{2}$') return fc.constantFrom(...COUNTRIES);
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern), { maxLength: 24 });
      return word.filter((s) => s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? Infinity));
    default:
      return fc.constant({});
  }
}

// ---- values that break a schema ------------------------------------------------

const IMPOSSIBLE_DAYS = ['2024-02-30', '2023-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '2024-06-00', '0000-00-00', '2024-6-1', '20240601', '2024-06-01T', '31/05/2024'];
const IMPOSSIBLE_INSTANTS = ['2024-05-28T25:00:00Z', '2024-05-28T12:60:00Z', '2024-02-30T12:00:00Z', '2024-05-28T12:00:00', '2024-05-28 12:00:00Z', '2024-05-28T12:00:00+25:00'];
/** Two capital letters that are no ISO 3166-1 code, and the wrong shapes of one. */
const unknownCode = fc.oneof(
  fc.stringMatching(/^[A-Z]{2}$/).filter((code) => !CountryCode.safeParse(code).success),
  fc.constantFrom('us', 'USA', 'U', 'U S', '840', 'ÜS'),
);

/** Nesting deep enough to hurt a recursive parser or validator (and still within what JSON.stringify can write). */
export const deepNesting = fc.integer({ min: 1_000, max: 4_000 }).chain((depth) =>
  fc.constantFrom(
    JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown,
    JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)) as unknown,
  ),
);

const wrongTypes = (except: string): fc.Arbitrary<unknown> => {
  const options: Array<fc.Arbitrary<unknown>> = [fc.constant(null)];
  if (except !== 'string') options.push(fc.string({ maxLength: 10 }));
  if (except !== 'integer' && except !== 'number') options.push(fc.integer());
  if (except !== 'number') options.push(fc.constant(1.5));
  if (except !== 'boolean') options.push(fc.boolean());
  if (except !== 'array') options.push(fc.array(fc.integer(), { maxLength: 3 }));
  if (except !== 'object') options.push(fc.dictionary(word, fc.integer(), { maxKeys: 3 }));
  return fc.oneof(...options);
};

/** A value the schema refuses, whatever else the request holds. */
export function breaking(schema: JsonSchema): fc.Arbitrary<{ kind: string; value: unknown }> {
  const as = (kind: string) => (value: unknown) => ({ kind, value });
  if (schema.anyOf) {
    // Refused by every alternative: a type none of them has, or a string every string alternative refuses.
    const strings = schema.anyOf.filter((s) => typeOf(s) === 'string');
    const dates = strings.length > 0 && strings.every((s) => s.format === 'date' || s.format === 'date-time');
    const types = new Set(schema.anyOf.map(typeOf));
    const options = [fc.constantFrom(...[42, true, [1], { a: 1 }].filter((v) => !types.has(Array.isArray(v) ? 'array' : typeof v === 'number' ? 'integer' : typeof v))).map(as('wrong type'))];
    if (dates) options.push(fc.constantFrom(...IMPOSSIBLE_DAYS, ...IMPOSSIBLE_INSTANTS).map(as('impossible date')));
    return fc.oneof(...options);
  }
  const type = typeOf(schema);
  const options: Array<fc.Arbitrary<{ kind: string; value: unknown }>> = [wrongTypes(type ?? '').map(as('wrong type')), deepNesting.map(as('deep nesting'))];
  if (type === 'object') {
    const objectOptions = [];
    if (schema.additionalProperties === false) {
      const known = new Set(Object.keys(schema.properties ?? {}));
      objectOptions.push(
        fc.tuple(plausible(schema), word.filter((k) => !known.has(k)), fc.jsonValue({ maxDepth: 2 })).map(([value, key, extra]) => as('extra field')({ ...(value as object), [key]: extra })),
      );
    }
    if ((schema.required ?? []).length > 0) {
      objectOptions.push(
        fc.tuple(plausible(schema), fc.constantFrom(...schema.required!)).map(([value, key]) => {
          const copy = { ...(value as Record<string, unknown>) };
          delete copy[key];
          return as(`missing ${key}`)(copy);
        }),
      );
    }
    const properties = Object.entries(schema.properties ?? {});
    if (properties.length > 0) {
      objectOptions.push(
        fc.constantFrom(...properties).chain(([key, propertySchema]) =>
          fc.tuple(plausible(schema), breaking(propertySchema)).map(([value, broken]) => ({ kind: `${key}: ${broken.kind}`, value: { ...(value as object), [key]: broken.value } })),
        ),
      );
    }
    return fc.oneof(...options, ...objectOptions, ...objectOptions);
  }
  if (type === 'array') {
    if (schema.minItems) options.push(fc.constant([]).map(as('too few items')));
    if (schema.maxItems !== undefined) options.push(plausible(schema.items ?? {}).map((item) => as('too many items')(Array(schema.maxItems! + 1).fill(item))));
    if (schema.items) options.push(fc.tuple(plausible(schema), breaking(schema.items)).map(([value, broken]) => ({ kind: `item: ${broken.kind}`, value: [...(value as unknown[]), broken.value] })));
  }
  if (type === 'integer' || type === 'number') {
    if (schema.minimum !== undefined) options.push(fc.integer({ min: -1e12, max: -1 }).map((d) => as('below the minimum')(schema.minimum! + d)));
    if (schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER) options.push(fc.integer({ min: 1, max: 1e12 }).map((d) => as('above the maximum')(schema.maximum! + d)));
    if (type === 'integer') options.push(fc.constantFrom(0.5, 1.25, -3.5).map(as('not an integer')));
  }
  if (type === 'string') {
    if (schema.enum) options.push(word.filter((w) => !schema.enum!.includes(w)).map(as('unknown code')));
    if (schema.maxLength !== undefined) {
      // Past the limit, up to huge (the whole request still under the body limit); never whitespace, which a trim would remove.
      options.push(fc.integer({ min: 1, max: 200_000 }).map((extra) => as('huge string')('x'.repeat(schema.maxLength! + extra))));
    }
    if ((schema.minLength ?? 0) > 0) options.push(fc.constant('').map(as('empty string')));
    if (schema.format === 'date') options.push(fc.constantFrom(...IMPOSSIBLE_DAYS).map(as('impossible date')));
    if (schema.format === 'date-time') options.push(fc.constantFrom(...IMPOSSIBLE_INSTANTS).map(as('impossible date')));
    if (schema.format === 'uri') options.push(fc.constantFrom('not a url', 'ftp://example.org/x', 'javascript:alert(1)', '//no-scheme', 'http://').map(as('not an http(s) URL')));
    if (schema.pattern === '^[A-Z]{2}$') options.push(unknownCode.map(as('unknown code')));
    else if (schema.pattern) {
      const pattern = new RegExp(schema.pattern);
      options.push(fc.string({ maxLength: 40, unit: 'binary' }).filter((s) => !pattern.test(s)).map(as('does not match the pattern')));
    }
  }
  return fc.oneof(...options);
}

// ---- the same, as request parts -----------------------------------------------------

const validNumber = (schema: JsonSchema) => (text: string) => {
  // An integer in a query is plain decimal digits: "", " 1", "0x1e" and "1e1" are refused.
  if (typeOf(schema) === 'integer' && !/^[0-9]+$/.test(text)) return false;
  const n = Number(text);
  return Number.isFinite(n) && (typeOf(schema) !== 'integer' || Number.isInteger(n)) && n >= (schema.minimum ?? -Infinity) && n <= (schema.maximum ?? Infinity);
};

/** Whether text in a query, path or header could pass the schema (erring towards yes). */
function mayAcceptText(schema: JsonSchema, text: string): boolean {
  if (schema.anyOf) return schema.anyOf.some((s) => mayAcceptText(s, text));
  if (schema.enum) return schema.enum.includes(text);
  const type = typeOf(schema);
  if (type === 'integer' || type === 'number') return validNumber(schema)(text);
  if (type !== 'string') return true;
  if (text.length < (schema.minLength ?? 0) || text.length > (schema.maxLength ?? Infinity)) return false;
  if (schema.pattern === '^[A-Z]{2}$') return CountryCode.safeParse(text).success;
  return schema.pattern ? new RegExp(schema.pattern).test(text) : true;
}

/** A query, path or header value (always text) that the parameter's schema refuses, even after coercion. */
export function breakingText(schema: JsonSchema): fc.Arbitrary<{ kind: string; value: string }> {
  const type = typeOf(schema);
  const candidates =
    type === 'integer' || type === 'number'
      ? fc.oneof(
          fc.constantFrom('abc', '1.5', '-1', '1e400', 'NaN', 'Infinity', '9007199254740993', '12abc', '[]', '0x1g', '', ' ', '0x1e', '1e1', '+1', ' 1').map((value) => ({ kind: 'not a number in range', value })),
          fc.string({ maxLength: 12 }).map((value) => ({ kind: 'not a number in range', value })),
        )
      : breaking(schema)
          .filter(({ value }) => typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
          .map(({ kind, value }) => ({ kind: kind === 'wrong type' ? 'not text of the right form' : kind, value: String(value) }));
  return candidates.filter(({ value }) => !mayAcceptText(schema, value));
}

const INVALID_UTF8 = [Buffer.from([0xff]), Buffer.from([0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xe2, 0x82]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])];
const WRONG_CONTENT_TYPES = ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/jsonx', 'text/json', 'application/octet-stream', ''];
const MALFORMED_JSON = ['{', '{"a":}', "{'a':1}", '{"a":1,}', '{"a":NaN}', '{"a":1} trailing', '/* c */ {}', '{"a":"\\x"}', '[' .repeat(10_000), '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}'];

/** A body that breaks the request whatever the route does with bodies (none need be declared). */
const breakingRawBody = (plausibleBody: fc.Arbitrary<unknown>) =>
  fc.oneof(
    fc.constantFrom(...MALFORMED_JSON).map((payload) => ({ kind: 'malformed JSON', payload: payload as string | Buffer, contentType: 'application/json' })),
    fc.constant({ kind: 'empty JSON body', payload: '', contentType: 'application/json' }),
    fc.tuple(plausibleBody, fc.constantFrom(...INVALID_UTF8)).map(([body, bad]) => {
      // Invalid bytes inside the first string of an otherwise well-formed body.
      const text = JSON.stringify(body ?? {});
      const at = text.indexOf('":"');
      const payload = at >= 0 ? Buffer.concat([Buffer.from(text.slice(0, at + 3)), bad, Buffer.from(text.slice(at + 3))]) : Buffer.concat([Buffer.from('{"a":"'), bad, Buffer.from('"}')]);
      return { kind: 'invalid UTF-8', payload, contentType: 'application/json' };
    }),
    fc.tuple(plausibleBody, fc.constantFrom(...WRONG_CONTENT_TYPES)).map(([body, contentType]) => ({ kind: 'wrong content type', payload: JSON.stringify(body ?? {}), contentType })),
    fc.integer({ min: 1, max: 64 }).map((kb) => ({ kind: 'body past the limit', payload: `{"a":"${'x'.repeat(1024 * 1024 + kb * 1024)}"}`, contentType: 'application/json' })),
  );

export function badRequests(op: Operation, auth: Record<string, string>): fc.Arbitrary<BadRequest> {
  const params = (where: Parameter['in']) => op.parameters.filter((p) => p.in === where);
  const plausibleParams = (where: Parameter['in']) =>
    fc.record(Object.fromEntries(params(where).map((p) => [p.name, plausible(p.schema).map(String)])), { requiredKeys: params(where).filter((p) => p.required || where === 'path').map((p) => p.name) }) as fc.Arbitrary<Record<string, string>>;
  const base = fc.record({ path: plausibleParams('path'), query: plausibleParams('query'), headers: plausibleParams('header'), body: op.body ? plausible(op.body) : fc.constant(undefined) });

  type Break = (b: { path: Record<string, string>; query: Record<string, string>; headers: Record<string, string>; body: unknown }) => fc.Arbitrary<{ kind: string; part: Partial<Built> }>;
  interface Built {
    path: Record<string, string>;
    query: Record<string, string>;
    headers: Record<string, string>;
    payload: string | Buffer | undefined;
    contentType: string | undefined;
  }
  // Weighted so the richest schemas (the bodies) get most of the runs.
  const breaks: Array<{ weight: number; make: Break }> = [];
  // Every API route refuses a query parameter it does not know.
  const knownQuery = new Set(params('query').map((p) => p.name));
  breaks.push({ weight: 2, make: (b) => fc.tuple(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !knownQuery.has(k) && /^[\w.-]+$/.test(k)), fc.string({ maxLength: 12 })).map(([k, v]) => ({ kind: 'query: extra field', part: { query: { ...b.query, [k]: v } } })) });
  for (const p of params('path')) {
    breaks.push({ weight: 2, make: (b) => breakingText(p.schema).map(({ kind, value }) => ({ kind: `path ${p.name}: ${kind}`, part: { path: { ...b.path, [p.name]: value } } })) });
    breaks.push({ weight: 1, make: (b) => fc.constantFrom('%FF', '%C0%80', '%ED%A0%80', '%E0%A4%A', 'x'.repeat(300)).map((raw) => ({ kind: `path ${p.name}: invalid UTF-8 or too long`, part: { path: { ...b.path, [p.name]: `\u0000raw:${raw}` } } })) });
  }
  for (const p of params('query')) {
    breaks.push({ weight: 2, make: (b) => breakingText(p.schema).map(({ kind, value }) => ({ kind: `query ${p.name}: ${kind}`, part: { query: { ...b.query, [p.name]: value } } })) });
  }
  for (const p of params('header')) {
    breaks.push({ weight: 2, make: (b) =>
      breakingText(p.schema)
        // A header carries visible ASCII only; other bytes are the transport's business, not the schema's.
        .filter(({ value }) => /^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(value))
        .map(({ kind, value }) => ({ kind: `header ${p.name}: ${kind}`, part: { headers: { ...b.headers, [p.name]: value } } })),
    });
  }
  if (op.method !== 'GET') {
    if (op.body) breaks.push({ weight: 12, make: () => breaking(op.body!).map(({ kind, value }) => ({ kind: `body: ${kind}`, part: { payload: JSON.stringify(value), contentType: 'application/json' } })) });
    breaks.push({ weight: 4, make: () => breakingRawBody(op.body ? plausible(op.body) : fc.constant({})).map(({ kind, payload, contentType }) => ({ kind: `body: ${kind}`, part: { payload, contentType } })) });
  }

  return base.chain((b) =>
    fc.tuple(fc.oneof(...breaks.map(({ weight, make }) => ({ weight, arbitrary: make(b) }))), fc.integer({ min: 0, max: 9 })).map(([{ kind, part }, dice]) => {
        const built: Built = {
          path: b.path,
          query: b.query,
          headers: b.headers,
          payload: op.method !== 'GET' && b.body !== undefined ? JSON.stringify(b.body) : undefined,
          contentType: op.method !== 'GET' && b.body !== undefined ? 'application/json' : undefined,
          ...part,
        };
        const url =
          op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
            const value = built.path[name] ?? '';
            return value.startsWith('\u0000raw:') ? value.slice(5) : encodeURIComponent(value);
          }) + (Object.keys(built.query).length > 0 ? `?${new URLSearchParams(built.query)}` : '');
        const headers: Record<string, string> = { ...built.headers };
        // Nine in ten with a key that may do everything, so the request gets past authorisation to the checks of its input.
        if (dice > 0 || op.roles === undefined) Object.assign(headers, auth);
        if (built.contentType !== undefined && built.payload !== undefined) headers['content-type'] = built.contentType;
        return { kind, method: op.method, url, headers, payload: built.payload };
      }),
  );
}
