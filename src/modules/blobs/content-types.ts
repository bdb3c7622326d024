// The compatible routes name a file extension, not a media type: blobs put with one are served
// with the type it stands for, and keep the extension itself as metadata. A blob put with a media
// type on the native route reads back through the compatible route with the extension it stands for.
// Maps, not objects: an extension or type a client sends ("constructor", "__proto__") must not
// reach an object's prototype (it once made a blob's Content-Type a function, dropped from its
// stored metadata, and GET /blobs a 500 when listing it).
const BY_EXTENSION = new Map<string, string>(Object.entries({
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif',
  svg: 'image/svg+xml', ico: 'image/x-icon', bmp: 'image/bmp', tif: 'image/tiff', tiff: 'image/tiff',
  pdf: 'application/pdf', json: 'application/json', xml: 'application/xml', zip: 'application/zip', gz: 'application/gzip',
  txt: 'text/plain; charset=utf-8', csv: 'text/csv; charset=utf-8', html: 'text/html; charset=utf-8', css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8',
  mp3: 'audio/mpeg', wav: 'audio/wav', ogg: 'audio/ogg', mp4: 'video/mp4', webm: 'video/webm',
}));

// The reverse: the first extension listed for a type wins (jpg, not jpeg), and the other names
// clients send for the same types are understood too.
const BY_MEDIA_TYPE = new Map<string, string>(Object.entries({
  'image/jpg': 'jpg', 'image/pjpeg': 'jpg', 'image/vnd.microsoft.icon': 'ico', 'image/x-ms-bmp': 'bmp',
  'application/x-gzip': 'gz', 'application/x-zip-compressed': 'zip', 'text/xml': 'xml', 'application/javascript': 'js',
  'audio/mp3': 'mp3', 'audio/x-wav': 'wav', 'audio/wave': 'wav',
}));
for (const [extension, type] of BY_EXTENSION) if (!BY_MEDIA_TYPE.has(mediaTypeOf(type))) BY_MEDIA_TYPE.set(mediaTypeOf(type), extension);

/** "image/png" of "Image/PNG; charset=x": the type without its parameters, lower case. */
function mediaTypeOf(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}

/** An extension as the seed's clients send it: ".png" and "png" are the same; "tar.gz" stays whole. */
export function normaliseExtension(extension: string): string {
  return extension.startsWith('.') ? extension.slice(1) : extension;
}

/** The type a file of this extension is served with; the last part decides ("tar.gz" is gzip). */
export function contentTypeOfExtension(extension: string): string {
  const last = extension.slice(extension.lastIndexOf('.') + 1).toLowerCase();
  return BY_EXTENSION.get(last) ?? 'application/octet-stream';
}

/** The extension a blob stored with this Content-Type is given back with; "" when none stands for it. */
export function extensionOfContentType(contentType: string): string {
  return BY_MEDIA_TYPE.get(mediaTypeOf(contentType)) ?? '';
}
