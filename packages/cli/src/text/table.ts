/*
 * The one table style of the command line: a header row, columns separated by two spaces,
 * text left-aligned, numbers right-aligned, every column as wide as its widest cell (so
 * counts of any size stay aligned). No borders, no trailing spaces.
 */

/** A column of a {@link formatTable} table. */
export interface Column {
  /** Header text. */
  header: string;
  /** Alignment; by default numbers (and cells that start with a digit) align right, text left. */
  align?: 'left' | 'right';
}

/** A cell: text, or a number printed as is. */
export type Cell = string | number;

function isNumeric(c: Cell): boolean {
  return typeof c === 'number' || /^-?[0-9]/.test(c);
}

/**
 * Formats rows under their headers.
 * @param columns - one per cell of a row
 * @param rows - the rows; a missing cell is printed as `-`
 * @param indent - spaces before every line
 * @returns the lines, each ending with a newline
 */
export function formatTable(columns: readonly Column[], rows: readonly (readonly Cell[])[], indent = 0): string {
  const text = rows.map((r) => columns.map((_, i) => (r[i] === undefined ? '-' : String(r[i]))));
  const right = columns.map((c, i) => (c.align ? c.align === 'right' : rows.length > 0 && rows.every((r) => r[i] === undefined || isNumeric(r[i]!))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    ' '.repeat(indent) +
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd() +
    '\n';
  return line(columns.map((c) => c.header)) + text.map(line).join('');
}
