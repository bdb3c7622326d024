// Is this an image, and of which type? An `image/*` Content-Type is taken at its word; anything
// else (application/octet-stream, a missing header, a misconfigured server) is sniffed from the
// first bytes, as browsers do.

const SAFE_IMAGE_TYPE = /^image\/[a-z0-9][a-z0-9.+-]{0,100}$/;

/** The header's type when it names an image, lowercased and without parameters. */
export function declaredImageType(contentType: string | undefined): string | null {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return SAFE_IMAGE_TYPE.test(type) ? type : null;
}

export function sniffImageType(bytes: Buffer): string | null {
  const starts = (...signature: number[]) => signature.every((byte, i) => bytes[i] === byte);
  const ascii = (from: number, to: number) => bytes.subarray(from, to).toString('latin1');
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'image/gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  if (starts(0x00, 0x00, 0x01, 0x00) || starts(0x00, 0x00, 0x02, 0x00)) return 'image/x-icon';
  if (ascii(0, 2) === 'BM' && bytes.length > 14) return 'image/bmp';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'image/tiff';
  if (ascii(4, 8) === 'ftyp') {
    const brand = ascii(8, 12);
    if (brand === 'avif' || brand === 'avis') return 'image/avif';
    if (brand === 'heic' || brand === 'heix' || brand === 'mif1') return 'image/heic';
  }
  if (/^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!doctype svg[^>]*>\s*)?<svg[\s>]/i.test(ascii(0, 1024))) return 'image/svg+xml';
  return null;
}
