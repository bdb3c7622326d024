// Request validation. Bodies are checked strictly: a string where a number belongs is an error,
// not something to coerce, and unknown fields are refused rather than silently dropped. Query
// strings, path parameters and headers arrive as text, so there numbers are coerced.
import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, useDefaults: true, removeAdditional: false, strict: false, ...options });
  (addFormats as unknown as (ajv: Ajv) => void)(ajv);
  return ajv;
}

const bodyAjv = makeAjv({ coerceTypes: false });
const textAjv = makeAjv({ coerceTypes: 'array' });

export const validatorCompiler: FastifySchemaCompiler<any> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object) as any;

/** The field an Ajv error is about: the missing or extra property, else the first path segment. */
export function fieldOfValidationError(error: {
  instancePath?: string;
  params?: Record<string, unknown>;
}, context?: string): string {
  const params = error.params ?? {};
  const path = (error.instancePath ?? '').split('/').filter(Boolean);
  const named = (params.missingProperty ?? params.additionalProperty) as string | undefined;
  if (named) return [...path, named].join('.');
  if (path.length) return path.filter((segment) => !/^\d+$/.test(segment)).join('.') || path[0];
  return context ?? 'body';
}
