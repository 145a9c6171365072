import assert from "node:assert/strict";
import type { ClipRecord } from "../workflow/run.ts";
import { esc, fmtGoal, fmtValue, indexPage } from "./html.ts";

const clip = (name: string, status: "ok" | "failed", error?: string): ClipRecord => ({
  clip: name,
  inputs: {},
  status,
  durationS: 1,
  steps: [],
  outputs: {},
  ...(error ? { error } : {}),
});

Deno.test("indexPage() lists failed clips first, links every report and shows key metrics with goals", () => {
  const html = indexPage({
    workflow: "wf.yaml",
    startedAt: "2026-01-01T00:00:00Z",
    media: "native",
    durationS: 3,
    rows: [
      {
        clip: clip("a.mp4", "ok"),
        href: "a.mp4/report.html",
        thumb: "a.mp4/files/x.jpg",
        keyMetrics: [{ name: "psnr_outside_db", value: 30.5, unit: "dB", goal: { min: 35 } }],
      },
      {
        clip: clip("b<x>.mp4", "failed", 'Cannot read "b"'),
        href: "b/report.html",
        thumb: null,
        keyMetrics: [],
      },
    ],
  });
  const rows = [...html.matchAll(/<tr class="clip-row">[\s\S]*?<\/tr>/g)].map((m) => m[0]);
  assert.equal(rows.length, 2);
  assert.match(rows[0]!, /b&#60;x&#62;\.mp4.*failed/s);
  assert.match(rows[0]!, /Cannot read &#34;b&#34;/);
  assert.match(rows[1]!, /href="a\.mp4\/report\.html"/);
  assert.match(rows[1]!, /<img src="a\.mp4\/files\/x\.jpg"/);
  assert.match(rows[1]!, /class="unmet">30\.5 dB<\/span> <span class="muted">\(goal ≥ 35 dB\)/);
  assert.match(html, /1 ok, 1 failed/);
});

Deno.test("fmtValue(), fmtGoal() and esc() format metrics and escape text", () => {
  assert.equal(fmtValue(null), "—");
  assert.equal(fmtValue(1337), "1337");
  assert.equal(fmtValue(41.8234), "41.82");
  assert.equal(fmtValue(0.26512), "0.265");
  assert.equal(fmtGoal({ name: "x", value: 1, unit: "cm", goal: { max: 0.4 } }), "≤ 0.4 cm");
  assert.equal(fmtGoal({ name: "x", value: 1, goal: { min: 0.2, max: 0.8 } }), "0.2 … 0.8");
  assert.equal(esc(`<a href="x">'&`), "&#60;a href=&#34;x&#34;&#62;&#39;&#38;");
});
