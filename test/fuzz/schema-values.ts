// Values for the fuzzer: ones that fit a route's JSON schema (so requests reach the handler) and
// hostile ones (wrong types, odd Unicode, huge and deeply nested values).
import fc from 'fast-check';

export type JsonSchema = {
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
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  default?: unknown;
};

/** Strings that have broken parsers, escapers and databases before. */
export const oddStrings = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '\ufeff', '\u202e\u0645\u0631\u062d\u0628\u0627', 'e\u0301\u0301\u0301',
  '👩‍👩‍👧‍👦', '𝕳𝖊𝖑𝖑𝖔', '\u200b\u200c\u200d', '\r\n\r\n', '../../etc/passwd', '%00', '%2e%2e%2f', "'; drop table x; --",
  '<script>alert(1)</script>', '{{7*7}}', '${7*7}', '__proto__', 'constructor', 'toString', 'NaN', '-0', '1e309',
  'ＡＢＣ', 'İı', 'ß', '\t\v\f', '\\', '"', '\u2028\u2029',
];

export const oddString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...oddStrings) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-composite', maxLength: 20 }) },
);

export const oddNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER + 2, 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, of bounded size. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<unknown>;

/** A value of a different type than the schema wants. */
export const wrongTypeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  oddNumber,
  oddString,
  fc.array(anyJson, { maxLength: 3 }),
  fc.dictionary(oddString, anyJson, { maxKeys: 3 }),
);

export function hugeString(bytes: number): string {
  return 'ä'.repeat(Math.floor(bytes / 2));
}

/** A value nested `depth` levels deep, as JSON text (building it as an object could itself overflow). */
export function deeplyNestedJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

const printableAscii = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));

function typesOf(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  if (schema.properties) return ['object'];
  return [];
}

function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? 30, 200));
  if (schema.pattern) {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? Infinity));
    } catch {
      // a pattern fast-check cannot generate from: fall through to plain strings
    }
  }
  switch (schema.format) {
    case 'uri':
    case 'url':
      // Only loopback URLs: a fuzzer must never send a Workyard fetching from the outside world.
      return fc.webPath().map((p) => `http://127.0.0.1:9${p.startsWith('/') ? p : `/${p}`}`);
    case 'email':
      return fc.emailAddress();
    case 'date-time':
      return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4102444800000) }).map((d) => d.toISOString());
    case 'uuid':
      return fc.uuid();
  }
  return fc.string({ minLength, maxLength, unit: fc.oneof({ weight: 5, arbitrary: printableAscii }, { weight: 1, arbitrary: fc.constantFrom('é', '中', '😀', ' ', '-') }) });
}

function numberFor(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + (integer ? 1 : 1e-9) : -1e6);
  const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - (integer ? 1 : 1e-9) : 1e6);
  const lo = Math.max(min, -1e9);
  const hi = Math.min(Math.max(max, lo), 1e9);
  return integer ? fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) }) : fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
}

/** Values that satisfy the schema, as far as these keywords go; enough to get past validation mostly. */
export function valueFor(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return anyJson;
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  // An alternative holds together with the keywords beside it (an object whose properties are
  // listed once, with anyOf saying which of them is required): each is merged into the rest.
  if (alternatives?.length) {
    const { anyOf: _anyOf, oneOf: _oneOf, ...rest } = schema;
    return fc.oneof(
      ...alternatives.map((alternative) =>
        valueFor({ ...rest, ...alternative, required: [...(rest.required ?? []), ...(alternative.required ?? [])] }, depth + 1),
      ),
    );
  }
  if (schema.allOf?.length) return valueFor(Object.assign({}, ...schema.allOf), depth + 1);
  const types = typesOf(schema);
  if (!types.length) return anyJson;
  return fc.oneof(
    ...types.map((type): fc.Arbitrary<unknown> => {
      switch (type) {
        case 'string':
          return stringFor(schema);
        case 'integer':
          return numberFor(schema, true);
        case 'number':
          return numberFor(schema, false);
        case 'boolean':
          return fc.boolean();
        case 'null':
          return fc.constant(null);
        case 'array': {
          const minLength = schema.minItems ?? 0;
          const maxLength = Math.max(minLength, Math.min(schema.maxItems ?? 5, 20));
          return fc.array(valueFor(schema.items, depth + 1), { minLength, maxLength });
        }
        case 'object': {
          const properties = schema.properties ?? {};
          const required = new Set(schema.required ?? []);
          const requiredKeys = Object.keys(properties).filter((key) => required.has(key));
          const optionalKeys = Object.keys(properties).filter((key) => !required.has(key));
          return fc.record(
            Object.fromEntries(Object.entries(properties).map(([key, property]) => [key, valueFor(property, depth + 1)])),
            { requiredKeys: requiredKeys.length || optionalKeys.length ? requiredKeys : [] },
          );
        }
        default:
          return anyJson;
      }
    }),
  );
}
