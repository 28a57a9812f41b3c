// /openapi.json as the service serves it: a valid OpenAPI 3.1 document (what client
// generators read), and every schema in it compiles as the JSON Schema it claims to be.
import { compileErrors, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaCompiler, schemasOf, type OpenApiDocument } from '../helpers/openapi.js';
import { startTestService, untilReady, type TestService } from '../helpers/service.js';

let service: TestService;
let document: OpenApiDocument;
const compile = schemaCompiler();

beforeAll(async () => {
  service = await startTestService({ env: { SEED_ON_START: 'true' } });
  await untilReady(service.app);
  document = (await service.app.inject('/openapi.json')).json();
});
afterAll(async () => service?.stop());

describe('the document', () => {
  it('is valid OpenAPI 3.1 to @readme/openapi-parser, without warnings', async () => {
    expect(document.openapi).toBe('3.1.0');
    // validate() dereferences what it is given: a copy, so the document the other tests read stays as served.
    const result = await validate(structuredClone(document) as unknown as Parameters<typeof validate>[0]);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(result.warnings).toEqual([]);
  });

  it('has schemas that compile as strict JSON Schema 2020-12, the dialect OpenAPI 3.1 declares', () => {
    const schemas = schemasOf(document);
    expect(schemas.length).toBeGreaterThan(100);
    for (const { where, schema } of schemas) expect(() => compile(schema), where).not.toThrow();
  });
});
