// Requests the fuzzer sends to one route of /openapi.json: mostly hostile (malformed JSON, wrong
// types, missing and extra fields, huge and deeply nested values, odd Unicode, invalid UTF-8,
// wrong or missing content types, absurd headers and path segments), some valid.
import fc from 'fast-check';
import {
  type JsonSchema,
  deeplyNestedJson,
  hugeString,
  oddString,
  oddStrings,
  valueFor,
  wrongTypeValue,
} from './schema-values.js';

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  /** OpenAPI template: /tasks/{id} */
  path: string;
  parameters: Parameter[];
  body?: { schema: JsonSchema; contentTypes: string[] };
}

export interface FuzzRequest {
  category: string;
  method: string;
  /** path and query, already encoded as they go on the wire */
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** The operations of an OpenAPI 3 document. */
export function operationsOf(spec: any): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<any>(spec.paths ?? {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
      const op = item[method];
      if (!op) continue;
      const parameters: Parameter[] = [...(item.parameters ?? []), ...(op.parameters ?? [])]
        .filter((p: any) => ['path', 'query', 'header'].includes(p.in))
        .map((p: any) => ({ name: p.name, in: p.in, required: Boolean(p.required), schema: p.schema ?? {} }));
      const content = op.requestBody?.content as Record<string, { schema?: JsonSchema }> | undefined;
      const body = content ? { schema: Object.values(content)[0]?.schema ?? {}, contentTypes: Object.keys(content) } : undefined;
      operations.push({ method: method.toUpperCase(), path, parameters, body });
    }
  }
  return operations;
}

const PATH_SEGMENTS = [
  '..', '.', '%2e%2e', '%2F', 'a%2Fb', '%00', '%zz', '%', '%e2%82', '%F0%9F%98', '%C0%AE', '%FF%FE', '%u0041', 'a b', '~', ';', ';x=1',
  '%20', 'x'.repeat(2049), 'x'.repeat(300), '%252e', '@', ':', "'", '"', '<', '%3Cscript%3E', '*', '?', '#', '\\',
];

const pathSegment = fc.oneof(
  fc.constantFrom(...PATH_SEGMENTS),
  oddString.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '?')) || 'x'),
);

const QUERY_SUFFIXES = [
  '?%zz=1', '?a=%zz', '?__proto__[x]=1', '?constructor=1', '?x=1&x=2&x=3', `?long=${'y'.repeat(20_000)}`, '?=', '?&&&', '?a[b][c][d]=1',
  '?limit=-1', '?limit=1e309', '?limit=NaN', '?limit=99999999999999999999', '?cursor=%00', '?prefix=..%2F', '?%F0%9F=1',
];

const CONTENT_TYPES = [
  undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16',
  'application/json; charset=latin1', 'application/jsonx', 'application/xml', 'application/octet-stream', '*/*', 'application/json;;;',
  `application/json; x=${'a'.repeat(2000)}`, 'APPLICATION/JSON', 'image/png', 'text/html',
];

const MALFORMED_JSON = [
  '{', '}', '{"a":}', '{"a":1,}', '[1,2', 'nul', 'NaN', '{"a":NaN}', "{'a':1}", '{"a":"\\x41"}', '{"a":"\\u12"}', '"\\ud800"', '\ufeff{}',
  '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '1e99999', '-', '{"a":1}{"b":2}', '{"a":1} junk', ' ',
  '\u0000', '{"a" 1}', '[' + '1,'.repeat(10) + ']', '{"a":"\n"}', 'true', '123', '"text"', 'null',
];

function fillPath(op: Operation, values: Record<string, string>): string {
  return op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? 'x');
}

function encodeQuery(values: Record<string, unknown>): string {
  const parts = Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${encodeURIComponent(key)}=${encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v))}`));
  return parts.length ? `?${parts.join('&')}` : '';
}

const printable = (value: unknown) => (typeof value === 'string' ? value.replace(/[\ud800-\udfff]/g, '?') : value);

/** Path and query values that fit the schema. */
function validParams(op: Operation) {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  return fc.record({
    path: fc.record(Object.fromEntries(pathParams.map((p) => [p.name, valueFor(p.schema).map((v) => encodeURIComponent(String(printable(v))) || 'x')]))),
    query: fc.record(
      Object.fromEntries(queryParams.map((p) => [p.name, valueFor(p.schema).map(printable)])),
      { requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name) },
    ),
  });
}

function withJson(op: Operation, category: string, params: { path: Record<string, string>; query: Record<string, unknown> }, body?: string | Buffer, contentType: string | undefined = 'application/json'): FuzzRequest {
  // An API client: routes that also serve browsers answer those with pages (see verdict.ts).
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined && contentType !== undefined) headers['content-type'] = contentType;
  return { category, method: op.method, url: fillPath(op, params.path) + encodeQuery(params.query), headers, body };
}

/** Replaces one value somewhere inside a JSON value (an object property or an array item). */
function replaceOne(value: unknown, pick: number, replacement: unknown): unknown {
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (!keys.length) return replacement;
    const key = keys[pick % keys.length];
    const copy: any = Array.isArray(value) ? [...value] : { ...value };
    copy[key] = pick % 3 === 0 ? replaceOne(copy[key], Math.floor(pick / 3), replacement) : replacement;
    return copy;
  }
  return replacement;
}

export function requestsFor(op: Operation): fc.Arbitrary<FuzzRequest> {
  const params = validParams(op);
  const bodySchema = op.body?.schema;
  const validBody = valueFor(bodySchema);
  const hasBody = op.body !== undefined;
  const required = bodySchema?.required ?? [];

  const cases: { weight: number; arbitrary: fc.Arbitrary<FuzzRequest> }[] = [
    { weight: 3, arbitrary: fc.tuple(params, validBody).map(([p, b]) => withJson(op, 'valid', p, hasBody ? JSON.stringify(b) : undefined)) },
    {
      weight: 3,
      arbitrary: fc.tuple(params, validBody, fc.nat(), wrongTypeValue).map(([p, b, pick, wrong]) =>
        withJson(op, 'wrong-type', p, JSON.stringify(replaceOne(b, pick, wrong)) ?? 'null'),
      ),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(params, validBody, fc.nat()).map(([p, b, pick]) => {
        const copy: any = b && typeof b === 'object' && !Array.isArray(b) ? { ...b } : {};
        if (required.length) delete copy[required[pick % required.length]];
        else for (const key of Object.keys(copy)) delete copy[key];
        return withJson(op, 'missing-field', p, JSON.stringify(copy));
      }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(params, validBody, oddString, wrongTypeValue).map(([p, b, key, extra]) => {
        const base = b && typeof b === 'object' && !Array.isArray(b) ? b : {};
        return withJson(op, 'extra-field', p, JSON.stringify({ ...base, [key || 'extra']: extra }));
      }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(params, validBody, fc.nat(), fc.constantFrom(...oddStrings)).map(([p, b, pick, odd]) =>
        withJson(op, 'odd-unicode', p, JSON.stringify(replaceOne(b, pick, odd)) ?? '""'),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(params, validBody, fc.nat(), fc.constantFrom(10_000, 100_000, 900_000, 1_100_000, 3_000_000)).map(([p, b, pick, size]) =>
        withJson(op, 'huge', p, pick % 4 === 0 ? JSON.stringify(Array.from({ length: size / 8 }, (_, i) => i)) : JSON.stringify(replaceOne(b, pick, hugeString(size)))),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(params, fc.constantFrom(100, 2_000, 20_000, 120_000), fc.constantFrom<'array' | 'object'>('array', 'object')).map(([p, depth, kind]) =>
        withJson(op, 'deep', p, deeplyNestedJson(depth, kind)),
      ),
    },
    { weight: 2, arbitrary: fc.tuple(params, fc.constantFrom(...MALFORMED_JSON)).map(([p, text]) => withJson(op, 'malformed-json', p, text)) },
    {
      weight: 2,
      arbitrary: fc.tuple(params, validBody, fc.nat(), fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80])).map(([p, b, pick, bytes]) => {
        const text = JSON.stringify(replaceOne(b, pick, 'MARK')) ?? '"MARK"';
        const [before, after = ''] = text.includes('MARK') ? text.split('MARK') : ['"', '"'];
        return withJson(op, 'invalid-utf8', p, Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]));
      }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(params, validBody, fc.constantFrom(...CONTENT_TYPES)).map(([p, b, contentType]) => {
        const json = JSON.stringify(b) ?? 'null';
        const body = contentType === 'application/x-www-form-urlencoded' ? encodeQuery(b && typeof b === 'object' ? (b as Record<string, unknown>) : { value: b }).slice(1) : json;
        return withJson(op, 'content-type', p, body, contentType);
      }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(params, validBody, fc.nat(), pathSegment).map(([p, b, pick, segment]) => {
        const names = Object.keys(p.path);
        const pathValues = names.length ? { ...p.path, [names[pick % names.length]]: segment } : p.path;
        const request = withJson(op, 'path', { ...p, path: pathValues }, hasBody ? JSON.stringify(b) : undefined);
        // Routes without parameters get the odd segment appended (they must answer 404, not fail).
        if (!names.length) request.url = request.url.replace(/^([^?]*?)\/?(\?|$)/, `$1/${segment}$2`);
        return request;
      }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(params, validBody, fc.constantFrom(...QUERY_SUFFIXES)).map(([p, b, suffix]) => {
        const request = withJson(op, 'query', { ...p, query: {} }, hasBody ? JSON.stringify(b) : undefined);
        request.url += suffix;
        return request;
      }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(params, validBody, absurdHeaders).map(([p, b, headers]) => {
        const request = withJson(op, 'headers', p, hasBody ? JSON.stringify(b) : undefined);
        request.headers = { ...request.headers, ...headers };
        return request;
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(params, fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD')).map(([p, method]) => ({
        ...withJson(op, 'method', p, method === 'GET' || method === 'HEAD' ? undefined : '{}'),
        method,
      })),
    },
  ];
  return fc.oneof(...cases);
}

const absurdHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  fc.constant({ authorization: `Bearer ${'k'.repeat(6000)}` }),
  fc.constant({ authorization: 'Bearer \u00ff\u00fe' }),
  fc.constant({ accept: 'application/x-nothing' }),
  fc.constant({ 'accept-encoding': 'gzip;q=2, br;q=-1, *;q=nan' }),
  fc.constant({ 'x-forwarded-for': '999.999.999.999, ::ffff:zz, ' + 'a'.repeat(1000) }),
  fc.constant({ 'if-none-match': '"' + 'e'.repeat(3000) + '"', 'if-modified-since': 'yesterday' }),
  fc.constant({ range: 'bytes=999999999999999999999-0' }),
  fc.constant({ range: 'bytes=-0,0-0,1-2,5-1' }),
  fc.constant({ 'content-encoding': 'gzip' }),
  fc.constant({ 'content-encoding': 'br, deflate, x-unknown' }),
  fc.constant({ expect: '100-continue' }),
  fc.constant({ 'x-request-id': '\u00e9'.repeat(100) }),
  fc.constant({ cookie: '_csrf=' + 'c'.repeat(4000) + '; a=b; =; ;;' }),
  fc.constant({ host: 'evil.example' }),
  fc.constant({ 'user-agent': '' }),
  fc.constant(Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`x-h${i}`, String(i).repeat(50)]))),
  fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 }), { maxKeys: 5 }),
);
