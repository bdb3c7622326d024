// Requests no HTTP client library would send: broken request lines, forbidden bytes in headers,
// oversized heads, conflicting lengths (request smuggling), broken chunked bodies.
import fc from 'fast-check';

const head = (path: string, lines: string[] = []) => [`Host: 127.0.0.1`, ...lines].map((line) => line + '\r\n').join('') + '\r\n';

export const rawTemplates: Record<string, (path: string) => Buffer | string> = {
  'control byte in a header name': (p) => `GET ${p} HTTP/1.1\r\n${head(p, ['X-Bad\u0001: 1'])}`,
  'NUL in a header value': (p) => `GET ${p} HTTP/1.1\r\n${head(p, ['X-Bad: a\u0000b'])}`,
  'header line without a colon': (p) => `GET ${p} HTTP/1.1\r\n${head(p, ['NoColonHere'])}`,
  'obsolete line folding': (p) => `GET ${p} HTTP/1.1\r\n${head(p, ['X-A: 1', '  folded'])}`,
  '20 KB header': (p) => `GET ${p} HTTP/1.1\r\n${head(p, [`X-Big: ${'b'.repeat(20_000)}`])}`,
  '100 KB URL': (p) => `GET ${p}?q=${'u'.repeat(100_000)} HTTP/1.1\r\n${head(p)}`,
  'two different Content-Length': (p) => `POST ${p} HTTP/1.1\r\n${head(p, ['Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 3'])}{}`,
  'Transfer-Encoding and Content-Length': (p) =>
    `POST ${p} HTTP/1.1\r\n${head(p, ['Content-Type: application/json', 'Content-Length: 4', 'Transfer-Encoding: chunked'])}0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n`,
  'broken chunked body': (p) => `POST ${p} HTTP/1.1\r\n${head(p, ['Content-Type: application/json', 'Transfer-Encoding: chunked'])}zz\r\n{}\r\n0\r\n\r\n`,
  'absurd chunk size': (p) => `POST ${p} HTTP/1.1\r\n${head(p, ['Content-Type: application/json', 'Transfer-Encoding: chunked'])}ffffffffffffffff\r\n{}\r\n0\r\n\r\n`,
  'negative Content-Length': (p) => `POST ${p} HTTP/1.1\r\n${head(p, ['Content-Type: application/json', 'Content-Length: -1'])}{}`,
  'raw high bytes in the path': (p) => Buffer.concat([Buffer.from(`GET ${p}`), Buffer.from([0x80, 0xff, 0xc3]), Buffer.from(` HTTP/1.1\r\n${head(p)}`)]),
  'space in the path': (p) => `GET ${p} x HTTP/1.1\r\n${head(p)}`,
  'garbage request line': () => 'HELLO THERE\r\n\r\n',
  'HTTP/2 preface on HTTP/1': () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  'absolute-form target': (p) => `GET http://evil.example${p} HTTP/1.1\r\n${head(p)}`,
  'no Host header': (p) => `GET ${p} HTTP/1.1\r\n\r\n`,
  'HTTP/1.0 request': (p) => `GET ${p} HTTP/1.0\r\n\r\n`,
  'unknown HTTP version': (p) => `GET ${p} HTTP/7.3\r\n${head(p)}`,
  'asterisk target': () => `OPTIONS * HTTP/1.1\r\n${head('*')}`,
  'unknown method': (p) => `BREW ${p} HTTP/1.1\r\n${head(p)}`,
  'lowercase method': (p) => `get ${p} HTTP/1.1\r\n${head(p)}`,
  'invalid UTF-8 in a JSON body': (p) =>
    Buffer.concat([Buffer.from(`POST ${p} HTTP/1.1\r\n${head(p, ['Content-Type: application/json', 'Content-Length: 8'])}`), Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x7d])]),
  'Expect other than 100-continue': (p) => `POST ${p} HTTP/1.1\r\n${head(p, ['Expect: teapot', 'Content-Type: application/json', 'Content-Length: 2'])}{}`,
  'many headers': (p) => `GET ${p} HTTP/1.1\r\n${head(p, Array.from({ length: 3000 }, (_, i) => `X-${i}: ${i}`))}`,
};

/**
 * Requests the server rightly answers with silence: a declared chunk of 2^64 bytes is waited for
 * (bodies may be slow: a blob upload can take minutes), until the client gives up.
 */
export const silenceAllowed = new Set(['absurd chunk size']);

export const rawRequest = (paths: string[]) =>
  fc.tuple(fc.constantFrom(...paths), fc.constantFrom(...Object.keys(rawTemplates))).map(([path, name]) => ({ name, path, bytes: rawTemplates[name](path) }));
