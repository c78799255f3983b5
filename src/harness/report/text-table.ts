/**
 * Rows (the first is the header) as aligned columns two spaces apart, each as wide as its widest cell. The
 * first column is left-aligned; the others too, or right-aligned with `numbers`. `trimEnd` drops the
 * trailing spaces of each line.
 */
export function textTable(
  rows: ReadonlyArray<readonly string[]>,
  options: { numbers?: boolean; trimEnd?: boolean } = {},
): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows.map((row) => {
    const line = row
      .map((cell, column) =>
        options.numbers && column > 0 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join("  ");
    return options.trimEnd ? line.trimEnd() : line;
  });
}
