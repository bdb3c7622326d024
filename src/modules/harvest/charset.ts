// Decodes an HTML page's bytes the way a browser picks the encoding, in short: a byte-order mark,
// else the Content-Type charset, else a <meta> in the first bytes, else UTF-8.

/** How far into the document a <meta charset> is looked for (the HTML spec's prescan says 1024). */
const META_PRESCAN_BYTES = 1024;

export function decodeHtml(bytes: Buffer, contentType: string | undefined): { text: string; charset: string } {
  const charset = bomCharset(bytes) ?? usableCharset(charsetParameter(contentType)) ?? metaUsableCharset(metaCharset(bytes)) ?? 'utf-8';
  const decoder = new TextDecoder(charset);
  return { text: decoder.decode(bytes), charset: decoder.encoding };
}

function bomCharset(bytes: Buffer): string | null {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  return null;
}

export function charsetParameter(contentType: string | undefined): string | null {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? '');
  return match ? (match[1] ?? match[2] ?? '').trim() || null : null;
}

function metaCharset(bytes: Buffer): string | null {
  // Every encoding a <meta> can name is ASCII-compatible for these characters, so latin1 reads them.
  const head = bytes.subarray(0, META_PRESCAN_BYTES).toString('latin1');
  const direct = /<meta[^>]*?\scharset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head);
  if (direct) return direct[1];
  for (const tag of head.match(/<meta\s[^>]*>/gi) ?? []) {
    if (/http-equiv\s*=\s*["']?content-type/i.test(tag)) {
      const content = /content\s*=\s*(?:"([^"]*)"|'([^']*)')/i.exec(tag);
      const charset = charsetParameter(content ? (content[1] ?? content[2]) : undefined);
      if (charset) return charset;
    }
  }
  return null;
}

/** A label TextDecoder knows, or null (an unknown label falls through to the next source). */
function usableCharset(label: string | null): string | null {
  if (!label) return null;
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return null;
  }
}

/** A <meta> naming UTF-16 was read as ASCII, so it cannot be true: browsers read UTF-8 then. */
function metaUsableCharset(label: string | null): string | null {
  const encoding = usableCharset(label);
  return encoding?.startsWith('utf-16') ? 'utf-8' : encoding;
}
