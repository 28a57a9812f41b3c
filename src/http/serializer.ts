// Responses are written by fast-json-stringify from the JSON Schema of the
// route's zod response schema: the same single source of truth as validation
// and /openapi.json, and several times faster than checking every response
// object with zod before JSON.stringify (which was a quarter of the time of a
// position answer). Only the fields the schema names are written.
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import fastJsonStringify from 'fast-json-stringify';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

/**
 * fast-json-stringify resolves anyOf by running a validator on every value. zod
 * writes `X | null` as anyOf [X, null]: `nullable: true` on X says the same and is
 * written directly; a union of string formats is just a string to write.
 */
function nullableInsteadOfAnyOf(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(nullableInsteadOfAnyOf);
  if (!schema || typeof schema !== 'object') return schema;
  const node = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, nullableInsteadOfAnyOf(v)])) as JsonSchema;
  const anyOf = node.anyOf as JsonSchema[] | undefined;
  // A union of strings (a day or an instant) is written the same whichever branch matches.
  if (anyOf && anyOf.length > 1 && anyOf.every((branch) => branch.type === 'string')) {
    const { anyOf: _anyOf, ...rest } = node;
    return { ...rest, type: 'string' };
  }
  if (anyOf?.length === 2) {
    const nonNull = anyOf.filter((branch) => branch.type !== 'null');
    if (nonNull.length === 1 && typeof nonNull[0].type === 'string') {
      const { anyOf: _anyOf, ...rest } = node;
      return { ...rest, ...nonNull[0], nullable: true };
    }
  }
  return node;
}

/**
 * Schemas named for /openapi.json's components (an `id` in zod's global registry) would become
 * $refs here, and `X | null` an anyOf of a $ref that nullableInsteadOfAnyOf cannot flatten:
 * the serializer reads every schema written out in full, from a registry of its own.
 */
const WRITTEN_OUT = z.registry<Record<string, unknown>>();

export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = ({ schema }) => {
  if (!(schema instanceof z.ZodType)) return (data) => JSON.stringify(data);
  const jsonSchema = nullableInsteadOfAnyOf(z.toJSONSchema(schema, { target: 'draft-7', io: 'output', unrepresentable: 'any', metadata: WRITTEN_OUT }));
  return fastJsonStringify(jsonSchema as Parameters<typeof fastJsonStringify>[0]) as (data: unknown) => string;
};
