// What an images task keeps: images at least so wide and so high, of the formats it names. The
// bytes are stored as for any task (another task may want them); a task's filters decide only
// which of them count as its own, and say why the others do not.

export const IMAGE_FORMATS = ['png', 'jpg', 'gif', 'webp', 'avif', 'svg', 'ico', 'bmp', 'tiff', 'heif'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface ImageFilters {
  min_width?: number;
  min_height?: number;
  types?: ImageFormat[];
}

export const hasFilters = (filters: ImageFilters | undefined): filters is ImageFilters =>
  Boolean(filters && (filters.min_width !== undefined || filters.min_height !== undefined || filters.types?.length));

/** Why a stored image is not the task's (null: it is), from what its bytes said. */
export function filteredOut(image: { width?: number | null; height?: number | null; format?: string | null }, filters: ImageFilters): string | null {
  const { width, height, format } = { width: image.width ?? null, height: image.height ?? null, format: image.format ?? null };
  if (filters.types?.length && !filters.types.includes(format as ImageFormat)) return `filtered out: ${format ?? 'an unknown format'} is not one of ${filters.types.join(', ')}`;
  if (filters.min_width !== undefined && (width === null || width < filters.min_width)) return `filtered out: ${width === null ? 'no known width' : `${width} px wide`}, below min_width ${filters.min_width}`;
  if (filters.min_height !== undefined && (height === null || height < filters.min_height)) return `filtered out: ${height === null ? 'no known height' : `${height} px high`}, below min_height ${filters.min_height}`;
  return null;
}
