import { describe, expect, it } from 'vitest';
import { contentTypeOfExtension, extensionOfContentType } from './content-types.js';

describe('content types of extensions', () => {
  it('maps known extensions both ways, the last part deciding', () => {
    expect(contentTypeOfExtension('png')).toBe('image/png');
    expect(contentTypeOfExtension('tar.gz')).toBe('application/gzip');
    expect(extensionOfContentType('Image/JPEG; q=1')).toBe('jpg');
    expect(extensionOfContentType('image/pjpeg')).toBe('jpg');
  });

  it("names of an object's prototype are unknown extensions and types, not its functions", () => {
    for (const name of ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'x.constructor']) {
      expect(contentTypeOfExtension(name)).toBe('application/octet-stream');
      expect(extensionOfContentType(name)).toBe('');
    }
  });
});
