// data: URLs (RFC 2397) carry their bytes inline; harvest stores them like downloaded images.

export interface DecodedDataUrl {
  /** lowercased type/subtype, "text/plain" when the URL names none */
  mediaType: string;
  bytes: Buffer;
}

export function decodeDataUrl(url: string): DecodedDataUrl | null {
  const match = /^data:([^,]*),(.*)$/is.exec(url);
  if (!match) return null;
  const [, header, payload] = match;
  const params = header.split(';').map((part) => part.trim());
  const base64 = params.length > 1 && params[params.length - 1].toLowerCase() === 'base64';
  const mediaType = (params[0] || 'text/plain').toLowerCase();
  const raw = percentDecode(payload);
  if (!base64) return { mediaType, bytes: raw };
  const text = raw.toString('latin1').replace(/[\t\n\f\r ]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) return null;
  return { mediaType, bytes: Buffer.from(text, 'base64') };
}

function percentDecode(text: string): Buffer {
  if (!text.includes('%')) return Buffer.from(text, 'utf8');
  const bytes: number[] = [];
  const utf8 = Buffer.from(text, 'utf8');
  for (let i = 0; i < utf8.length; i++) {
    const byte = utf8[i];
    if (byte === 0x25 && i + 2 < utf8.length && isHex(utf8[i + 1]) && isHex(utf8[i + 2])) {
      bytes.push(parseInt(String.fromCharCode(utf8[i + 1], utf8[i + 2]), 16));
      i += 2;
    } else {
      bytes.push(byte);
    }
  }
  return Buffer.from(bytes);
}

const isHex = (byte: number) => (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
