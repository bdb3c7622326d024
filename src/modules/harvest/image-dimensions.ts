// An image's format, width and height, read from its bytes by image-size (headers only: no
// decoding, so a 20 MB photo costs microseconds). For an icon or a multi-image file, the largest.
// image-size (28 files, ~18 ms to import) is loaded with the first image, not at start.
let loading: Promise<typeof import('image-size')> | undefined;

export async function dimensionsOf(bytes: Buffer): Promise<{ width: number | null; height: number | null; format: string | null }> {
  const { imageSize } = await (loading ??= import('image-size'));
  try {
    const size = imageSize(bytes);
    const largest = size.images?.length ? size.images.reduce((a, b) => (a.width * a.height >= b.width * b.height ? a : b)) : size;
    const known = (value: number | undefined) => (Number.isSafeInteger(value) && value! > 0 ? value! : null);
    return { width: known(largest.width), height: known(largest.height), format: size.type ?? null };
  } catch {
    // a format image-size does not read, or bytes it cannot make sense of: the image is kept without them
    return { width: null, height: null, format: null };
  }
}
