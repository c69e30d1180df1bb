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

/** Every table whose header matches `header`, in order. */
function tablesWith(markdown: string, header: RegExp): string[][][] {
  const found: string[][][] = [];
  let rest = markdown;
  for (;;) {
    const at = rest.split("\n").findIndex((l) => header.test(l));
    if (at < 0) return found;
    found.push(table(rest, header));
    rest = rest.split("\n").slice(at + 1).join("\n");
  }
}

/** "hrp-cron queue (SQLite)", "pg-boss (PostgreSQL), batchSize 100" -> the names BENCHMARKS.md uses. */
function systemKey(name: string): string {
  return name.toLowerCase().replace(/, batchsize \d+/, "").replace("postgresql backend", "postgres").replace("postgresql", "postgres");
}

describe("docs/performance.md", () => {
  const summary = readFileSync(join(ROOT, "docs", "performance.md"), "utf8");
  const bench = readFileSync(join(ROOT, "docs", "BENCHMARKS.md"), "utf8");

  it("quotes the throughput and latency of the last full benchmark run", () => {
    // BENCHMARKS.md's drain tables, in order: no-op jobs, jobs writing one row, jobs running five statements.
    const drains = tablesWith(bench, /^\| system \| bulk enqueue\/s \| drain\/s/);
    expect(drains).toHaveLength(3);
    const [noop, one, five] = drains.map((t) => new Map(t.map((r) => [r[0].toLowerCase(), r])));
    const latency = new Map(table(bench, /^\| system \| k \| p50 ms/).map((r) => [r[0].toLowerCase(), r]));
    const reference = Number(noop.get("hrp-cron queue (postgres)")![2]);
    const rows = table(summary, /^\| system \| bulk enqueue jobs\/s \| drain jobs\/s/);
    expect(rows).toHaveLength(noop.size);
    for (const [system, enqueue, drain, ratio, writeOne, writeFive, lat] of rows) {
      const key = systemKey(system);
      const measured = noop.get(key);
      expect([system, measured?.[1], measured?.[2]]).toEqual([system, enqueue, drain]);
      expect([system, (reference / Number(drain)).toFixed(2)]).toEqual([system, ratio]);
      expect([system, one.get(key)?.[2], five.get(key)?.[2]]).toEqual([system, writeOne, writeFive]);
      const quoted = lat.match(/[\d.]+/g)?.slice(0, 2).map(Number) ?? [];
      const l = latency.get(key);
      expect([system, quoted]).toEqual([system, l ? [Number(l[2]), Number(l[4])] : []]);
    }
  });

  it("quotes the other figures of that run as measured", () => {
    expect(bench).toContain("committed **2777** transactions/s");
    expect(summary).toContain("committed 2,777 tps");
    expect(bench).toMatch(/\| 1000000 \| \d+ \| 1\.41 \|/);
    expect(summary).toContain("`ir_cron` is 1.41x the 1,000-row rate");
    expect(bench).toContain("RSS 68 MB; 0.4 database transactions/s");
    expect(summary).toContain("68 MB RSS\n  and 0.4 transactions/s");
    expect(bench).toContain("drain at **0.68x** the best peer (graphile-worker batched (postgres), 2508/s)");
    expect(summary).toContain("PostgreSQL drain at **0.68x** the best peer");
  });

  it("the README's front page quotes the same run", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const ours = table(bench, /^\| system \| bulk enqueue\/s \| drain\/s/).find((r) => r[0] === "hrp-cron queue (postgres)")!;
    const sqlite = table(bench, /^\| system \| bulk enqueue\/s \| drain\/s/).find((r) => r[0] === "hrp-cron queue (sqlite)")!;
    // Columns: vs graphile-worker, vs graphile-worker batched, vs pg-boss, vs BullMQ redis.
    expect(readme).toContain(`**${ours[5]}x** graphile-worker, **${ours[6]}x** graphile-worker\nbatched and **${ours[7]}x** pg-boss`);
    expect(readme).toContain(`drain at **${sqlite[8]}x** BullMQ on Redis`);
    expect(bench).toContain("drain at **0.68x** the best peer");
    expect(readme).toContain("one row at **0.68x** the\nbest peer");
  });
});
