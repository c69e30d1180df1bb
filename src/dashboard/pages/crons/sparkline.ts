import { html, type SafeHtml } from "../../html";
import type { RunMark } from "../../../store/scheduleStats";

/**
 * The latest runs as a small inline SVG (no script, no style attribute:
 * colours come from the `spark-ok` / `spark-fail` classes): one bar per
 * run, oldest on the left, its height the run's duration against the
 * longest shown (a run of unknown duration gets a short bar).
 */
export function sparkline(runs: readonly RunMark[], label: string): SafeHtml {
  if (runs.length === 0) return html`<span class="muted">—</span>`;
  const bar = 4;
  const gap = 1;
  const height = 20;
  const width = runs.length * (bar + gap);
  const longest = Math.max(1, ...runs.map((r) => r.durationMs ?? 0));
  const bars = runs.map((r, i) => {
    const h = r.durationMs === null ? 3 : Math.max(3, Math.round((r.durationMs / longest) * height));
    return html`<rect
      x="${i * (bar + gap)}"
      y="${height - h}"
      width="${bar}"
      height="${h}"
      class="${r.ok ? "spark-ok" : "spark-fail"}"
    ></rect>`;
  });
  return html`<svg
    class="sparkline"
    width="${width}"
    height="${height}"
    viewBox="0 0 ${width} ${height}"
    role="img"
    aria-label="${label}"
  >
    <title>${label}</title>
    ${bars}
  </svg>`;
}
