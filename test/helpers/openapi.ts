// Holds an answer of the service against what /openapi.json declares for its operation: the
// status is listed there, the content type is one that status lists, and the body validates
// against that media type's schema. The document is OpenAPI 3.1, whose schemas are JSON
// Schema 2020-12, so they are compiled as such, strictly: a keyword ajv does not know is an
// error here, as it would be for a client generator that compiles them.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';

interface MediaType {
  schema?: object;
}
interface Response {
  description: string;
  content?: Record<string, MediaType>;
}
export interface Operation {
  parameters?: Array<{ in: string; name: string; schema: object }>;
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, Response>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

export interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

// ajv-formats is CommonJS: imported from ESM, its default is the module, which holds the plugin as `default`.
const addFormats = ajvFormats.default;

/** Every schema in the document, with where it is: each parameter's, request body's and response's. */
export function schemasOf(document: OpenApiDocument): Array<{ where: string; schema: object }> {
  const found: Array<{ where: string; schema: object }> = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const at = `${method.toUpperCase()} ${path}`;
      for (const parameter of operation.parameters ?? []) found.push({ where: `${at} ${parameter.in} ${parameter.name}`, schema: parameter.schema });
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) if (media.schema) found.push({ where: `${at} body ${type}`, schema: media.schema });
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) if (media.schema) found.push({ where: `${at} ${status} ${type}`, schema: media.schema });
      }
    }
  }
  return found;
}

export function schemaCompiler(): (schema: object) => ValidateFunction {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  // ajv knows OpenAPI 3.0's `nullable`; 3.1 has no such keyword (a generator ignores it, null or
  // not), so here it is an unknown keyword like any other.
  ajv.removeKeyword('nullable');
  addFormats(ajv);
  const compiled = new WeakMap<object, ValidateFunction>();
  return (schema) => {
    let validate = compiled.get(schema);
    if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
    return validate;
  };
}

/** The type of a Content-Type header, without its parameters (charset). */
export const mediaTypeOf = (header: unknown) => String(header ?? '').split(';')[0].trim().toLowerCase();

/**
 * What is wrong with `answer` as an answer of `method` on the documented `path` (a template,
 * "/v1/statements/{id}"); nothing when it conforms.
 */
export function mismatches(document: OpenApiDocument, compile: (schema: object) => ValidateFunction, method: string, path: string, answer: Answer): string[] {
  const operation = document.paths[path]?.[method.toLowerCase()];
  if (!operation) return [`${method} ${path} is not in the document`];
  const response = operation.responses[String(answer.statusCode)];
  const at = `${method} ${path} ${answer.statusCode}`;
  if (!response) return [`${at}: status not documented (documented: ${Object.keys(operation.responses).join(', ')})`];
  const content = response.content ?? {};
  if (Object.keys(content).length === 0) return answer.body === '' ? [] : [`${at}: documented without a body, answered ${answer.body.slice(0, 80)}`];
  const type = mediaTypeOf(answer.headers['content-type']);
  const media = content[type];
  if (!media) return [`${at}: content type ${type} not documented (documented: ${Object.keys(content).join(', ')})`];
  if (!media.schema) return [];
  const body = type.endsWith('json') ? JSON.parse(answer.body) : answer.body;
  const validate = compile(media.schema);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${at} ${type}: ${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`);
}
