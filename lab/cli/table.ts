import { textTable } from "../../src/harness/report/text-table.ts";

/** Rows as aligned columns (the first row is the header), two spaces apart, no trailing spaces. */
export function formatTable(rows: string[][]): string {
  return textTable(rows, { trimEnd: true }).join("\n");
}
