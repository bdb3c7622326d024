// CSV (RFC 4180) for every export: cells a spreadsheet would run as a formula (starting with
// = + - @, a tab or a carriage return) are prefixed with ' (OWASP's CSV injection advice).

/** One CSV cell: formula-safe, then quoted when it holds a quote, a comma, a line break or edge spaces. */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
