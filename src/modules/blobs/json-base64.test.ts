// The decoder of the compatible PUT: what common encoders write is taken, anything else refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Text } from './json-base64.js';

/** Lines of `width` characters joined by `eol`, ending with one (as encodebytes and MIME write them). */
const wrap = (text: string, width: number, eol: string) => (text.match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join(eol) + (text ? eol : '');
const urlSafe = (text: string) => text.replace(/\+/g, '-').replace(/\//g, '_');

describe('decodeBase64Text', () => {
  it('decodes every form the encoders write: either alphabet, padded or not, wrapped with \\n or \\r\\n at any width', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 100 }), fc.constantFrom('', '\n', '\r\n'), (array, safe, padded, width, eol) => {
        const bytes = Buffer.from(array);
        let text = bytes.toString('base64');
        if (safe) text = urlSafe(text);
        if (!padded) text = text.replace(/=+$/, '');
        if (eol) text = wrap(text, width, eol);
        expect(decodeBase64Text(text)?.equals(bytes)).toBe(true);
      }),
    );
  });

  it('agrees with atob (the WHATWG forgiving-base64 decode) on any text of the standard alphabet, "=", whitespace and stray characters', () => {
    const character = fc.constantFrom(...'ABCxyz019+/=', ' ', '\n', '\r', '\t', '\f', '\u00a0', '\v', '%', '.');
    fc.assert(
      fc.property(fc.array(character, { maxLength: 24 }).map((characters) => characters.join('')), (text) => {
        let expected: Buffer | null;
        try {
          expected = Buffer.from(atob(text), 'latin1');
        } catch {
          expected = null;
        }
        expect(decodeBase64Text(text)).toEqual(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['a partial group of one character', 'YWJjY'],
    ['padding in the middle', 'YQ==YQ=='],
    ['a partial padding', 'YQ='],
    ['three padding characters', 'Y==='],
    ['both alphabets in one string', 'ab+_'],
    ['a non-breaking space', 'YWJj\u00a0'],
    ['a percent-encoded slash', 'YW%2F'],
  ])('refuses %s', (_name, text) => {
    expect(decodeBase64Text(text)).toBeNull();
  });

  it('takes megabytes of wrapped base64 without overflowing the regex stack', () => {
    const bytes = Buffer.alloc(6 * 1024 * 1024, 0xfb);
    expect(decodeBase64Text(wrap(bytes.toString('base64'), 76, '\r\n'))?.equals(bytes)).toBe(true);
  });
});
