import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./markdown";

/**
 * docs/performance.md summarises docs/BENCHMARKS.md, which `npm run bench`
 * writes: the summary must say what the last run measured.
 */
function table(markdown: string, header: RegExp): string[][] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => header.test(l));
  if (start < 0) throw new Error(`no table with header ${header}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.split("|").slice(1, -1).map((c) => c.trim().replace(/\*/g, "")));
  }
  return rows;
}

/** "hrp-cron queue (SQLite)", "pg-boss (PostgreSQL), batchSize 100" -> the names BENCHMARKS.md uses. */
function systemKey(name: string): string {
  return name.toLowerCase().replace(/, batchsize \d+/, "").replace("postgresql backend", "postgres").replace("postgresql", "postgres");
}

describe("docs/performance.md", () => {
  const summary = readFileSync(join(ROOT, "docs", "performance.md"), "utf8");
  const bench = readFileSync(join(ROOT, "docs", "BENCHMARKS.md"), "utf8");

  it("quotes the throughput and latency of the last full benchmark run", () => {
    const throughput = new Map(table(bench, /^\| system \| enqueue\/s \| drain\/s/).map((r) => [r[0].toLowerCase(), r]));
    const latency = new Map(table(bench, /^\| system \| k \| p50 ms/).map((r) => [r[0].toLowerCase(), r]));
    const reference = Number(throughput.get("hrp-cron queue (postgres)")![2]);
    const rows = table(summary, /^\| system \| enqueue jobs\/s \| drain jobs\/s/);
    expect(rows).toHaveLength(throughput.size);
    for (const [system, enqueue, drain, ratio, lat] of rows) {
      const measured = throughput.get(systemKey(system));
      expect([system, measured?.[1], measured?.[2]]).toEqual([system, enqueue, drain]);
      expect([system, (reference / Number(drain)).toFixed(2)]).toEqual([system, ratio]);
      const quoted = lat.match(/[\d.]+/g)?.slice(0, 2).map(Number) ?? [];
      const l = latency.get(systemKey(system));
      expect([system, quoted]).toEqual([system, l ? [Number(l[2]), Number(l[4])] : []]);
    }
  });

  it("quotes the other figures of that run as measured", () => {
    expect(bench).toContain("committed **5639** transactions/s");
    expect(summary).toContain("committed 5,639 tps");
    expect(bench).toMatch(/\| 1000000 \| \d+ \| 1\.43 \|/);
    expect(summary).toContain("1.43x the\n  1,000-row rate");
    expect(bench).toContain("RSS 67 MB; 0.43 database transactions/s");
    expect(summary).toContain("67 MB RSS and\n  0.43 transactions/s");
  });
});
