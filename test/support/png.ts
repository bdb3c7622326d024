// A real PNG of one colour, any size: what an image decoder or a header reader accepts (the fixture
// site's fakePng is a signature followed by noise, enough for type sniffing only).
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([length, body, crc]);
}

export function solidPng(width: number, height: number, rgb: [number, number, number] = [200, 40, 40]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3).fill(Buffer.from(rgb))]);
  const pixels = zlib.deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * A real PNG (a solid 64 × 64 image) of exactly `size` bytes, distinct per seed: the bytes past the
 * image are a private ancillary chunk of noise ("nsEd"), which readers skip, before IEND.
 */
export function paddedPng(seed: string, size: number): Buffer {
  const image = solidPng(64, 64);
  const end = chunk('IEND', Buffer.alloc(0));
  const body = image.subarray(0, image.length - end.length);
  const noiseBytes = size - body.length - end.length - 12;
  if (noiseBytes < 0) throw new Error(`a padded PNG needs at least ${body.length + end.length + 12} bytes`);
  const noise = Buffer.alloc(noiseBytes);
  let block = createHash('sha256').update(seed).digest();
  for (let offset = 0; offset < noise.length; offset += block.length) {
    block.copy(noise, offset);
    block = createHash('sha256').update(block).digest();
  }
  return Buffer.concat([body, chunk('nsEd', noise), end]);
}
