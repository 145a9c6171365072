import assert from "node:assert/strict";
import type { ReportSeriesData } from "./data.ts";
import { MAX_POINTS, seriesRows, stackedSvg } from "./plots.ts";

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
