// Plain-text tables and the small formats inside their cells. Hand-written because none of the
// project's dependencies draws tables, and aligned columns of plain text (no borders, no colour)
// are what reads well in a terminal and greps well in a log.

export interface Column {
  header: string;
  /** numbers read best right-aligned */
  align?: 'left' | 'right';
}

/** The rows under their headers, columns two spaces apart, no trailing spaces. */
export function formatTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((column, i) => Math.max(column.header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    columns
      .map((column, i) => {
        const cell = cells[i] ?? '';
        return column.align === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header)), ...rows.map(line)].join('\n');
}

/** One line of at most `max` characters: an error's first words, not its whole stack. */
export function trimCell(text: string | null | undefined, max: number): string {
  if (!text) return '';
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** An RFC 3339 time to the second, in UTC: `2026-12-04 21:22:16Z`. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return new Date(time).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** A duration as a person says it: `850 ms`, `12.3 s`, `4.0 min`, `2.5 h`, `3.0 d`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A time option: an RFC 3339 time is passed on as typed (the server checks it and names the
 * option when it is wrong); `30m`, `2h`, `7d` mean that long before now.
 */
export function parseTimeOption(text: string, now = Date.now()): string {
  const ago = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  return ago ? new Date(now - Number(ago[1]) * UNIT_MS[ago[2]]).toISOString() : text;
}
