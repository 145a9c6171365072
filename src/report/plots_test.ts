import assert from "node:assert/strict";
import type { ReportSeriesData } from "./data.ts";
import { fitAxisTitle, MAX_POINTS, seriesRows, stackedSvg } from "./plots.ts";

function long(n: number): ReportSeriesData {
  const v = Array.from({ length: n }, (_, i) => Math.sin(i / 50));
  v[1234] = 5; // one spike
  v[4000] = null as unknown as number; // a gap
  return {
    name: "a",
    title: "a",
    x: { unit: "s", start: 0, step: 0.04 },
    length: n,
    channels: { jaw_open: v, lips: v.map((x) => (x === null ? null : -x)) },
  };
}

Deno.test("seriesRows() keeps long series within MAX_POINTS per channel, with their peaks and gaps", () => {
  const s = long(15000); // 10 minutes at 25 fps
  const rows = seriesRows(s);
  const jaw = rows.filter((r) => r.channel === "jaw_open");
  assert.ok(jaw.length <= MAX_POINTS, `${jaw.length} points`);
  assert.ok(jaw.length >= MAX_POINTS * 0.9);
  assert.ok(jaw.some((r) => r.v === 5), "the spike survives");
  assert.equal(
    Math.min(...rows.filter((r) => r.channel === "lips" && r.v !== null).map((r) => r.v!)),
    -5,
  );
  // x stays in time order within a channel.
  for (let i = 1; i < jaw.length; i++) assert.ok(jaw[i]!.x >= jaw[i - 1]!.x);
  // Short series are passed through unchanged.
  assert.equal(seriesRows(long(300)).length, 600);
});

Deno.test("stackedSvg() draws one panel per series with marks, sharing the time axis", async () => {
  const a = long(15000);
  const b = { ...long(3000), name: "b", title: "b", mark: "area" as const, order: -1 };
  const svg = await stackedSvg([a, b]);
  assert.equal((svg.match(/class="mark-line role-mark/g) ?? []).length >= 1, true);
  assert.equal((svg.match(/class="mark-area role-mark/g) ?? []).length >= 1, true);
  // Small enough for a page with several such plots.
  assert.ok(svg.length < 200_000, `${svg.length} bytes`);
  // The area series (order −1) is drawn first.
  assert.ok(svg.indexOf("mark-area") < svg.indexOf("mark-line"));
});

Deno.test("stackedSvg() wraps a y-axis title that is longer than its short panel (the dialogue level's)", async () => {
  const n = 100;
  const level: ReportSeriesData = {
    name: "energy",
    title: "Dialogue level (25 ms RMS)",
    x: { unit: "s", start: 0, step: 0.01 },
    length: n,
    channels: { level_db: Array.from({ length: n }, (_, i) => 30 + 20 * Math.sin(i / 9)) },
    yLabel: "dB re −60 dBFS",
    yDomain: [0, 60],
    mark: "area",
    plot: "driving",
  };
  const svg = await stackedSvg([level, { ...long(n), order: 1 }]);
  // Vega centres a y title on its axis: translate(x, h/2) rotate(-90).
  const m =
    /<text[^>]*transform="translate\(-?[\d.]+,([\d.]+)\) rotate\(-90\)[^"]*"[^>]*font-size="([\d.]+)px"[^>]*>(.*?)<\/text>/
      .exec(svg);
  assert.ok(m, "a rotated y-axis title");
  const axisPx = 2 * Number(m[1]), fontPx = Number(m[2]);
  const tspans = [...m[3]!.matchAll(/<tspan[^>]*>(.*?)<\/tspan>/g)].map((t) => t[1]!);
  const lines = tspans.length > 0 ? tspans : [m[3]!];
  assert.deepEqual(lines.join(" "), "dB re −60 dBFS", "every word is still there");
  for (const line of lines) {
    // Average advance of a bold sans-serif glyph ≈ 0.62 em (DejaVu Sans Bold: 0.55–0.7).
    assert.ok(
      line.length * 0.62 * fontPx <= axisPx,
      `"${line}" is longer than the ${axisPx} px axis`,
    );
  }
  assert.equal(fitAxisTitle("dB", 60), "dB", "a short title stays one line");
});
