import { html, type SafeHtml } from "../../html";
import type { Translate } from "../../i18n/messages";
import type { RunBucket } from "../../../store/health";
import { formatPercent } from "../../view/format";

/**
 * The throughput chart: inline SVG drawn on the server (no script), one
 * stacked bar per period (done, failed, stopped runs) against the left axis
 * and the failure rate as a line against the right axis (0–100%). Each bar
 * carries its numbers as `data-*` attributes and a `<title>` (the tooltip a
 * browser shows, and what a screen reader reads).
 */

const WIDTH = 720;
const HEIGHT = 220;
const LEFT = 44;
const RIGHT = 44;
const TOP = 26;
const BOTTOM = 28;

/** How the chart labels its periods. */
export interface ChartLabels {
  /** The chart's accessible name. */
  readonly title: string;
  /** A period's label on the time axis (`14:00`). */
  readonly tick: (start: Date) => string;
  /** Label every `tickEvery`-th period. */
  readonly tickEvery: number;
  readonly periodMs: number;
}

/** The chart of `buckets`; `id` names its title and description for assistive technology. */
export function throughputChart(
  t: Translate,
  id: string,
  buckets: readonly RunBucket[],
  labels: ChartLabels,
): SafeHtml {
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const bottom = TOP + plotH;
  const top = niceCeiling(Math.max(0, ...buckets.map((b) => b.done + b.failed + b.stopped)));
  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(1, round(slot * 0.72));
  const y = (n: number) => round(bottom - (plotH * n) / top);
  const xOf = (i: number) => round(LEFT + i * slot + (slot - barW) / 2);
  const centre = (i: number) => round(LEFT + i * slot + slot / 2);

  const bars = buckets.map((b, i) => {
    const total = b.done + b.failed + b.stopped;
    const tip = t("overview.chart.tip", {
      from: labels.tick(b.start),
      to: labels.tick(new Date(b.start.getTime() + labels.periodMs)),
      done: b.done,
      failed: b.failed,
      stopped: b.stopped,
      rate: formatPercent(b.failed, total),
    });
    const rects: SafeHtml[] = [];
    let base = 0;
    for (const [n, cls] of [
      [b.done, "bar-done"],
      [b.failed, "bar-failed"],
      [b.stopped, "bar-stopped"],
    ] as const) {
      if (n > 0)
        rects.push(
          html`<rect
            class="${cls}"
            x="${xOf(i)}"
            y="${y(base + n)}"
            width="${barW}"
            height="${round(y(base) - y(base + n))}"
          />`,
        );
      base += n;
    }
    return html`<g
      class="bucket"
      data-start="${b.start.toISOString()}"
      data-done="${b.done}"
      data-failed="${b.failed}"
      data-stopped="${b.stopped}"
      ><title>${tip}</title
      ><rect
        class="slot"
        x="${round(LEFT + i * slot)}"
        y="${TOP}"
        width="${round(slot)}"
        height="${plotH}"
      />${rects}</g
    >`;
  });

  // The failure rate, as line pieces over consecutive periods that had runs (a period without runs has no rate).
  const rate = (b: RunBucket) => b.failed / (b.done + b.failed + b.stopped);
  const pieces: Array<Array<[number, number]>> = [];
  let piece: Array<[number, number]> = [];
  buckets.forEach((b, i) => {
    if (b.done + b.failed + b.stopped === 0) {
      if (piece.length > 0) pieces.push(piece);
      piece = [];
    } else piece.push([centre(i), round(bottom - plotH * rate(b))]);
  });
  if (piece.length > 0) pieces.push(piece);
  const line = pieces.map((p) =>
    p.length === 1
      ? html`<circle class="dot-rate" cx="${p[0][0]}" cy="${p[0][1]}" r="2.5" />`
      : html`<polyline class="line-rate" points="${p.map(([a, b]) => `${a},${b}`).join(" ")}" />`,
  );

  const leftTicks = [0, top / 2, top].filter((v, i, all) => Number.isInteger(v) && all.indexOf(v) === i);
  const axes = html`<line class="axis" x1="${LEFT}" y1="${bottom}" x2="${WIDTH - RIGHT}" y2="${bottom}" />
    ${leftTicks.map(
      (v) =>
        html`<line class="grid-line" x1="${LEFT}" y1="${y(v)}" x2="${WIDTH - RIGHT}" y2="${y(v)}" />
          <text class="tick-left" x="${LEFT - 6}" y="${y(v) + 3}" text-anchor="end">${v}</text>`,
    )}
    ${[0, 50, 100].map(
      (p) =>
        html`<text class="tick-right" x="${WIDTH - RIGHT + 6}" y="${round(bottom - (plotH * p) / 100) + 3}"
          >${p}%</text
        >`,
    )}
    ${buckets.map((b, i) =>
      i % labels.tickEvery === 0
        ? html`<text class="tick-time" x="${round(LEFT + i * slot)}" y="${bottom + 16}" text-anchor="middle">
            ${labels.tick(b.start)}
          </text>`
        : null,
    )}
    <text class="axis-title" x="4" y="12">${t("overview.chart.axisRuns")}</text>
    <text class="axis-title" x="${WIDTH - 4}" y="12" text-anchor="end">${t("overview.chart.axisRate")}</text>`;

  return html`<svg
      class="chart"
      id="${id}"
      viewBox="0 0 ${WIDTH} ${HEIGHT}"
      width="${WIDTH}"
      height="${HEIGHT}"
      role="img"
      aria-labelledby="${id}-title"
    >
      <title id="${id}-title">${labels.title}</title>
      ${axes}${bars}${line}
    </svg>
    <p class="legend">
      <span><span class="swatch-done"></span>${t("overview.chart.done")}</span>
      <span><span class="swatch-failed"></span>${t("overview.chart.failed")}</span>
      <span><span class="swatch-stopped"></span>${t("overview.chart.stopped")}</span>
      <span><span class="swatch-rate"></span>${t("overview.chart.rate")}</span>
    </p>`;
}

/** The smallest of 1, 2, 5 × 10ⁿ (or 1 for nothing) at or above `n`, so the axis reads in round numbers. */
export function niceCeiling(n: number): number {
  if (n <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * power >= n) return step * power;
  return 10 * power;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
