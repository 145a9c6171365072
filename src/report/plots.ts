/**
 * Plots for the HTML report: Vega-Lite specs compiled and rendered to static SVG
 * inside Deno (`vega` + `vega-lite`, no DOM, no network). Long series are reduced
 * to at most {@link MAX_POINTS} points per channel (min/max per bucket, so peaks
 * and closures survive), which keeps a page of many plots light.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import { type ReportSeriesData, seriesX } from "./data.ts";

/** Points per channel above which a series is reduced (two per bucket: min and max). */
export const MAX_POINTS = 800;
const WIDTH = 760;

const X_TITLE: Record<string, string> = { s: "time (s)", frame: "frame", iteration: "iteration" };

interface Row {
  x: number;
  channel: string;
  v: number | null;
}

/**
 * Long-format rows of a series; channels longer than `maxPoints` keep each bucket's
 * min and max (in time order). Gaps (null) are kept so lines break there.
 */
export function seriesRows(s: ReportSeriesData, maxPoints = MAX_POINTS): Row[] {
  const xs = seriesX(s);
  const rows: Row[] = [];
  const n = s.length;
  for (const [channel, vals] of Object.entries(s.channels)) {
    if (n <= maxPoints) {
      for (let i = 0; i < n; i++) rows.push({ x: xs[i]!, channel, v: vals[i] ?? null });
      continue;
    }
    const buckets = Math.floor(maxPoints / 2);
    for (let b = 0; b < buckets; b++) {
      const i0 = Math.floor((b * n) / buckets), i1 = Math.floor(((b + 1) * n) / buckets);
      let lo = -1, hi = -1, gap = -1;
      for (let i = i0; i < i1; i++) {
        const v = vals[i];
        if (v === null || v === undefined) {
          if (gap < 0) gap = i;
          continue;
        }
        if (lo < 0 || v < vals[lo]!) lo = i;
        if (hi < 0 || v > vals[hi]!) hi = i;
      }
      if (lo < 0) {
        rows.push({ x: xs[gap]!, channel, v: null });
        continue;
      }
      for (const i of lo === hi ? [lo] : [Math.min(lo, hi), Math.max(lo, hi)]) {
        rows.push({ x: xs[i]!, channel, v: vals[i]! });
      }
    }
  }
  return rows;
}

// deno-lint-ignore no-explicit-any
type Spec = any;

/** Font size of axis titles (px; Vega-Lite's default, set explicitly so the fit below holds). */
export const AXIS_TITLE_PX = 11;
/** Average glyph advance of the axis-title font as a share of its size (sans-serif, bold). */
export const GLYPH_EM = 0.62;

/**
 * An axis title as lines that each fit along `lengthPx` (a y-axis title runs along
 * its panel's height): words wrap greedily; a single word longer than a line stays
 * whole. Short titles stay one string.
 */
export function fitAxisTitle(text: string, lengthPx: number): string | string[] {
  const maxChars = Math.max(1, Math.floor(lengthPx / (GLYPH_EM * AXIS_TITLE_PX)));
  if (text.length <= maxChars) return text;
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.length === 1 ? lines[0]! : lines;
}

function panel(s: ReportSeriesData, xDomain: [number, number] | undefined, height: number): Spec {
  const channels = Object.keys(s.channels);
  const mark = s.mark === "area"
    ? { type: "area", opacity: 0.45, line: { strokeWidth: 1 }, interpolate: "step-after" }
    : s.mark === "bar"
    ? { type: "bar" }
    : { type: "line", strokeWidth: 1.3 };
  return {
    title: { text: s.title, anchor: "start", fontSize: 12 },
    width: WIDTH,
    height,
    data: { values: seriesRows(s) },
    mark,
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: X_TITLE[s.x.unit] ?? s.x.unit,
        scale: { nice: false, zero: false, ...(xDomain ? { domain: xDomain } : {}) },
      },
      y: {
        field: "v",
        type: "quantitative",
        title: s.yLabel ? fitAxisTitle(s.yLabel, height) : null,
        titleFontSize: AXIS_TITLE_PX,
        scale: {
          ...(s.yDomain ? { domain: s.yDomain } : {}),
          ...(s.yScale === "log" ? { type: "log" } : { zero: false }),
        },
      },
      ...(channels.length > 1 || s.mark !== "area"
        ? {
          color: {
            field: "channel",
            type: "nominal",
            title: null,
            sort: channels,
            legend: channels.length > 1 ? { orient: "right", labelLimit: 200 } : null,
          },
        }
        : {}),
    },
  };
}

function xRange(series: ReportSeriesData[]): [number, number] | undefined {
  let lo = Infinity, hi = -Infinity;
  for (const s of series) {
    const xs = seriesX(s);
    if (xs.length) {
      lo = Math.min(lo, xs[0]!);
      hi = Math.max(hi, xs[xs.length - 1]!);
    }
  }
  return lo < hi ? [lo, hi] : undefined;
}

async function toSvg(spec: Spec): Promise<string> {
  const compiled = vl.compile({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    config: { font: "sans-serif", view: { stroke: "#ddd" }, axis: { labelFontSize: 10 } },
    ...spec,
  }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One series as a plot (SVG text). */
export function seriesSvg(s: ReportSeriesData): Promise<string> {
  return toSvg(panel(s, undefined, s.channels && Object.keys(s.channels).length > 3 ? 150 : 110));
}

/**
 * Several series (a shared `plot` id) as stacked panels over one x axis (the union of
 * their ranges), in `order`. Series with different x units are still stacked, each
 * over its own range.
 */
export function stackedSvg(series: ReportSeriesData[]): Promise<string> {
  const sorted = [...series].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  const sameUnit = sorted.every((s) => s.x.unit === sorted[0]!.x.unit);
  const domain = sameUnit ? xRange(sorted) : undefined;
  return toSvg({
    vconcat: sorted.map((s) =>
      panel(s, domain, s.mark === "area" ? 60 : Object.keys(s.channels).length > 3 ? 150 : 90)
    ),
    spacing: 8,
    resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
  });
}

/** Per-step time as horizontal bars, coloured by status. */
export function stepTimeSvg(
  steps: { id: string; status: string; durationS: number }[],
): Promise<string> {
  return toSvg({
    title: {
      text: "Time per step (cached: the time it took when computed)",
      anchor: "start",
      fontSize: 12,
    },
    width: WIDTH - 120,
    height: { step: 16 },
    data: { values: steps.map((s) => ({ step: s.id, status: s.status, s: s.durationS })) },
    mark: { type: "bar" },
    encoding: {
      y: { field: "step", type: "nominal", sort: null, title: null },
      x: { field: "s", type: "quantitative", title: "seconds" },
      color: {
        field: "status",
        type: "nominal",
        scale: {
          domain: ["ran", "cached", "failed", "not-run"],
          range: ["#4c78a8", "#9ecae9", "#e45756", "#bbbbbb"],
        },
        legend: { orient: "right" },
      },
    },
  });
}
