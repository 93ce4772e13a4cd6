/**
 * CSV as spreadsheets read it (RFC 4180: every cell quoted, quotes doubled, CRLF line ends), safe
 * to open: a cell that starts with = + - @ (or a tab or carriage return) would be run as a
 * formula by Excel, LibreOffice and Sheets, so it gets a leading apostrophe and is read as text.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return `"${safe.replaceAll('"', '""')}"`;
}

export function csvRow(cells: unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
