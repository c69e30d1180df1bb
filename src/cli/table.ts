/** Default width of the CLI's tables: they fit a 120-column terminal. */
export const TABLE_WIDTH = 120;

/**
 * Renders rows as a plain-text table with a header line; null shows as
 * empty, dates as `YYYY-MM-DD HH:MM:SS` (UTC), a multi-line text by its
 * first line. When the table would be wider than `maxWidth`, its text
 * columns are cut until it fits, the widest first, none narrower than its
 * header or 8 characters; columns of numbers and dates are never cut. A
 * cut cell ends in `…`, or, for the columns named in `keepEnd` (method
 * names, whose end says most), starts with it. `hrp-cron job ID` shows
 * what was cut, in full.
 */
export function renderTable(
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  options: { readonly maxWidth?: number; readonly keepEnd?: readonly string[] } = {},
): string {
  const { maxWidth = TABLE_WIDTH, keepEnd = ["method"] } = options;
  const cells = rows.map((row) => row.map(formatCell));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const fixed = columns.map((_, i) =>
    rows.every(
      (row) => row[i] === null || row[i] === undefined || typeof row[i] === "number" || row[i] instanceof Date,
    ),
  );
  const floors = columns.map((c, i) => (fixed[i] ? widths[i] : Math.min(widths[i], Math.max(c.length, 8))));
  let excess = widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1) - maxWidth;
  while (excess > 0) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++)
      if (widths[i] > floors[i] && (widest === -1 || widths[i] > widths[widest])) widest = i;
    if (widest === -1) break; // every column at its floor: wider than asked, but readable
    widths[widest]--;
    excess--;
  }
  const fit = (value: string, i: number) => {
    const width = widths[i];
    if (value.length <= width) return value;
    return keepEnd.includes(columns[i]) ? `…${value.slice(value.length - width + 1)}` : `${value.slice(0, width - 1)}…`;
  };
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => fit(v, i).padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** A date as the tables show it: UTC, to the second. */
export function formatDate(date: Date): string {
  return date
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "");
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return formatDate(value);
  return String(value).split("\n")[0];
}
