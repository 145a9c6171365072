/**
 * The report pages as HTML text (pure: no I/O). {@link clipPage} is one clip's
 * `report.html`; {@link indexPage} is a batch's `index.html`. Both are self-contained:
 * inline CSS, inline SVG plots, images and videos by relative path, no scripts, no CDN.
 *
 * @module
 */
import type { ClipRecord, StepRecord } from "../workflow/run.ts";
import { metricMet, type ReportMetricData } from "./data.ts";

/** Escape text for HTML content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A picture or video of a step, already copied into the report folder. */
export interface PageMedia {
  name: string;
  /** Relative URL inside the report folder, or null when not copied (too large). */
  src: string | null;
  /** The original file (shown when not copied). */
  path: string;
  caption?: string;
  sizeBytes: number;
  /** The step asked for this picture as the clip's thumbnail. */
  thumbnail?: boolean;
}

export interface PageStep {
  rec: StepRecord;
  images: PageMedia[];
  videos: PageMedia[];
  /** Plots of series without a shared plot id (SVG text). */
  plots: string[];
  metrics: ReportMetricData[];
}

export interface ClipPageModel {
  workflow: string;
  startedAt: string;
  media: string;
  clip: ClipRecord;
  steps: PageStep[];
  /** Shared plots (series with the same plot id across steps): id, title, SVG. */
  sharedPlots: { id: string; svg: string }[];
  stepTimeSvg: string;
  /** Link back to the batch index, if any. */
  indexHref?: string;
}

const CSS = `
:root { --ok: #2e7d32; --bad: #c62828; --warn: #b26a00; --muted: #666; --line: #e3e3e3; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #263238; color: #fff; padding: 14px 24px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header .meta { color: #cfd8dc; font-size: 13px; }
header a { color: #b3e5fc; }
nav { padding: 6px 24px; background: #eceff1; font-size: 13px; position: sticky; top: 0; z-index: 2; }
nav a { margin-right: 14px; color: #37474f; }
main { padding: 8px 24px 40px; max-width: 1400px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 14px 0; }
h2 { font-size: 17px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: #455a64; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, .path { font: 12px ui-monospace, monospace; word-break: break-all; }
td code, .badge { white-space: nowrap; word-break: normal; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; }
.s-ok, .s-ran { background: var(--ok); } .s-cached { background: #0277bd; }
.s-failed { background: var(--bad); } .s-not-run { background: #9e9e9e; }
.met { color: var(--ok); font-weight: 600; } .unmet { color: var(--bad); font-weight: 600; }
.bar { height: 10px; border-radius: 2px; min-width: 1px; }
.bar.ran { background: #4c78a8; } .bar.cached { background: #9ecae9; } .bar.failed { background: #e45756; } .bar.not-run { background: #bbb; }
.msg { border-left: 4px solid var(--warn); background: #fff8e1; padding: 6px 10px; margin: 6px 0; }
.msg.error { border-color: var(--bad); background: #ffebee; }
.msg .hint { color: var(--muted); }
.gallery { display: flex; flex-wrap: wrap; gap: 14px; }
figure { margin: 0; max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); image-rendering: auto; display: block; }
figure video { max-width: 640px; width: 100%; border: 1px solid var(--line); background: #000; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 3px; }
.plot svg { max-width: 100%; height: auto; }
.plot { overflow-x: auto; margin: 6px 0 10px; }
.summary { display: flex; gap: 24px; flex-wrap: wrap; }
.summary div { min-width: 120px; }
.summary b { display: block; font-size: 20px; }
.muted { color: var(--muted); }
`;

function fmtS(s: number): string {
  return s < 60
    ? `${s.toFixed(s < 10 ? 2 : 1)} s`
    : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** A metric value for display (3 significant digits, integers as they are). */
export function fmtValue(v: number | null): string {
  if (v === null) return "—";
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1000
    ? v.toFixed(0)
    : a >= 1
    ? v.toPrecision(4).replace(/\.?0+$/, "")
    : v.toPrecision(3);
}

/** "≥ 30 dB", "≤ 0.5", "0.2 … 0.8". */
export function fmtGoal(m: ReportMetricData): string {
  const g = m.goal;
  if (!g) return "";
  const u = m.unit ? ` ${m.unit}` : "";
  if (g.min !== undefined && g.max !== undefined) return `${g.min} … ${g.max}${u}`;
  if (g.min !== undefined) return `≥ ${g.min}${u}`;
  if (g.max !== undefined) return `≤ ${g.max}${u}`;
  return "";
}

function metricRows(step: string | null, ms: ReportMetricData[]): string {
  return ms.map((m) => {
    const met = metricMet(m);
    return `<tr>${step !== null ? `<td><a href="#step-${esc(step)}">${esc(step)}</a></td>` : ""}
<td>${esc(m.name)}</td><td class="num">${esc(fmtValue(m.value))}${
      m.unit ? ` ${esc(m.unit)}` : ""
    }</td>
<td>${esc(fmtGoal(m))}</td><td>${
      met === undefined
        ? ""
        : met
        ? '<span class="met">met</span>'
        : '<span class="unmet">not met</span>'
    }</td><td class="muted">${esc(m.description ?? "")}</td></tr>`;
  }).join("\n");
}

function mediaFigure(m: PageMedia, kind: "image" | "video"): string {
  const cap = `<figcaption>${esc(m.caption ?? m.name)}</figcaption>`;
  if (m.src === null) {
    return `<figure><p class="muted">${esc(m.name)}: ${
      (m.sizeBytes / 1e6).toFixed(1)
    } MB, too large to copy into the report: <span class="path">${
      esc(m.path)
    }</span></p>${cap}</figure>`;
  }
  return kind === "image"
    ? `<figure><img src="${esc(m.src)}" alt="${esc(m.caption ?? m.name)}">${cap}</figure>`
    : `<figure><video src="${
      esc(m.src)
    }" controls muted preload="metadata"></video>${cap}</figure>`;
}

function fileRows(entries: [string, unknown][]): string {
  return entries.map(([k, v]) =>
    `<tr><td>${esc(k)}</td><td class="path">${
      esc(typeof v === "string" ? v : JSON.stringify(v))
    }</td></tr>`
  ).join("\n");
}

/** One clip's report page. */
export function clipPage(m: ClipPageModel): string {
  const c = m.clip;
  const shownS = (s: StepRecord) => s.status === "cached" ? s.computeS ?? 0 : s.durationS;
  const maxS = Math.max(1e-6, ...c.steps.map(shownS));
  const warnings = c.steps.flatMap((s) => s.warnings.map((w) => ({ step: s.id, w })));
  const failedStep = c.steps.find((s) => s.status === "failed");
  const allMetrics = m.steps.flatMap((s) => s.metrics.map((x) => ({ step: s.rec.id, m: x })));
  const withGoal = allMetrics.filter((x) => metricMet(x.m) !== undefined);
  const metCount = withGoal.filter((x) => metricMet(x.m)).length;
  const videos = m.steps.flatMap((s) => s.videos.map((v) => ({ step: s.rec.id, v })));
  const contributing = m.steps.filter((s) =>
    s.images.length || s.plots.length || s.metrics.length || s.videos.length
  );
  const ran = c.steps.filter((s) => s.status === "ran").length;
  const cached = c.steps.filter((s) => s.status === "cached").length;

  const glance = `<section id="glance"><h2>At a glance</h2>
<div class="summary">
<div><span class="muted">status</span><b><span class="badge s-${esc(c.status)}">${
    esc(c.status)
  }</span></b></div>
<div><span class="muted">time</span><b>${esc(fmtS(c.durationS))}</b></div>
<div><span class="muted">steps</span><b>${c.steps.length}</b><span class="muted">${ran} ran, ${cached} cached</span></div>
<div><span class="muted">goals met</span><b>${
    withGoal.length ? `${metCount} / ${withGoal.length}` : "—"
  }</b></div>
</div>
${
    c.error
      ? `<div class="msg error"><b>Error${
        failedStep ? ` in step ${esc(failedStep.id)}` : ""
      }:</b> ${esc(c.error)}${c.hint ? `<div class="hint">hint: ${esc(c.hint)}</div>` : ""}</div>`
      : ""
  }
${
    warnings.map((x) => `<div class="msg"><b>Warning (${esc(x.step)}):</b> ${esc(x.w)}</div>`).join(
      "\n",
    )
  }
<h3>Inputs</h3><table>${fileRows(Object.entries(c.inputs))}</table>
<h3>Outputs</h3>${
    Object.keys(c.outputs).length
      ? `<table>${fileRows(Object.entries(c.outputs))}</table>`
      : '<p class="muted">none written</p>'
  }
</section>`;

  const steps = `<section id="steps"><h2>Steps</h2><table>
<tr><th>step</th><th>type</th><th>status</th><th>time</th><th style="width:30%">timing</th><th>cache key</th><th>notes</th></tr>
${
    c.steps.map((s) =>
      `<tr><td>${
        contributing.some((x) => x.rec.id === s.id)
          ? `<a href="#step-${esc(s.id)}">${esc(s.id)}</a>`
          : esc(s.id)
      }</td><td><code>${esc(s.uses)}</code></td>
<td><span class="badge s-${esc(s.status)}">${
        esc(s.status === "cached" ? "cached (hit)" : s.status === "ran" ? "ran (miss)" : s.status)
      }</span></td>
<td class="num">${esc(fmtS(s.durationS))}${
        s.status === "cached" && s.computeS !== undefined
          ? `<div class="muted">computed in ${esc(fmtS(s.computeS))}</div>`
          : ""
      }</td>
<td><div class="bar ${esc(s.status)}" style="width:${
        (100 * shownS(s) / maxS).toFixed(1)
      }%"></div></td>
<td><code>${esc(s.key.slice(0, 12))}</code></td>
<td>${s.error ? `<span class="unmet">${esc(s.error)}</span>` : ""}${
        s.warnings.length ? `${s.warnings.length} warning${s.warnings.length > 1 ? "s" : ""}` : ""
      }</td></tr>`
    ).join("\n")
  }
</table>
<div class="plot" id="plot-step-time">${m.stepTimeSvg}</div>
</section>`;

  const videoSec = videos.length
    ? `<section id="videos"><h2>Videos</h2><div class="gallery">${
      videos.map((x) =>
        mediaFigure({ ...x.v, caption: `${x.step}: ${x.v.caption ?? x.v.name}` }, "video")
      ).join("\n")
    }</div></section>`
    : "";

  const plots = m.sharedPlots.length
    ? `<section id="plots"><h2>Plots</h2>${
      m.sharedPlots.map((p) => `<div class="plot" id="plot-${esc(p.id)}">${p.svg}</div>`).join("\n")
    }</section>`
    : "";

  const metrics = allMetrics.length
    ? `<section id="metrics"><h2>Metrics</h2><table>
<tr><th>step</th><th>metric</th><th>value</th><th>goal</th><th></th><th>what</th></tr>
${m.steps.map((s) => metricRows(s.rec.id, s.metrics)).join("\n")}</table></section>`
    : "";

  const stepSecs = contributing.map((s) =>
    `<section class="step" id="step-${esc(s.rec.id)}"><h2>${esc(s.rec.id)} <span class="muted">(${
      esc(s.rec.uses)
    })</span></h2>
${
      s.images.length
        ? `<div class="gallery">${s.images.map((i) => mediaFigure(i, "image")).join("\n")}</div>`
        : ""
    }
${s.plots.map((p) => `<div class="plot">${p}</div>`).join("\n")}
${
      s.metrics.length
        ? `<table><tr><th>metric</th><th>value</th><th>goal</th><th></th><th>what</th></tr>${
          metricRows(null, s.metrics)
        }</table>`
        : ""
    }
</section>`
  ).join("\n");

  const nav = [
    ["glance", "At a glance"],
    ["steps", "Steps"],
    ...(videos.length ? [["videos", "Videos"]] : []),
    ...(m.sharedPlots.length ? [["plots", "Plots"]] : []),
    ...(allMetrics.length ? [["metrics", "Metrics"]] : []),
    ...contributing.map((s) => [`step-${s.rec.id}`, s.rec.id]),
  ].map(([id, t]) => `<a href="#${esc(id)}">${esc(t)}</a>`).join("");

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dub report — ${esc(c.clip)} (${esc(c.status)})</title>
<style>${CSS}</style></head>
<body>
<header><h1>dub report — ${esc(c.clip)} <span class="badge s-${esc(c.status)}">${
    esc(c.status)
  }</span></h1>
<div class="meta">workflow <span class="path">${esc(m.workflow)}</span> · started ${
    esc(m.startedAt)
  } · media ${esc(m.media)}${
    m.indexHref ? ` · <a href="${esc(m.indexHref)}">batch index</a>` : ""
  }</div></header>
<nav>${nav}</nav>
<main>
${glance}
${steps}
${videoSec}
${plots}
${metrics}
${stepSecs}
</main></body></html>
`;
}

/** One row of the batch index. */
export interface IndexRow {
  clip: ClipRecord;
  /** Relative link to the clip's report.html. */
  href: string;
  /** Relative URL of a thumbnail, if the clip has a picture. */
  thumb: string | null;
  keyMetrics: ReportMetricData[];
}

/** A batch's index page: every clip, failures first, with thumbnail, status and key metrics. */
export function indexPage(
  m: { workflow: string; startedAt: string; media: string; durationS: number; rows: IndexRow[] },
): string {
  const rows = [...m.rows].sort((a, b) =>
    (a.clip.status === "failed" ? 0 : 1) - (b.clip.status === "failed" ? 0 : 1) ||
    a.clip.clip.localeCompare(b.clip.clip)
  );
  const failed = rows.filter((r) => r.clip.status === "failed").length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dub batch report — ${rows.length - failed} ok, ${failed} failed</title>
<style>${CSS} td img { width: 160px; height: auto; border: 1px solid var(--line); display: block; }</style></head>
<body>
<header><h1>dub batch report — ${rows.length} clip${rows.length === 1 ? "" : "s"}: ${
    rows.length - failed
  } ok, ${failed} failed</h1>
<div class="meta">workflow <span class="path">${esc(m.workflow)}</span> · started ${
    esc(m.startedAt)
  } · media ${esc(m.media)} · ${esc(fmtS(m.durationS))}</div></header>
<main><section id="clips"><h2>Clips</h2><table>
<tr><th>picture</th><th>clip</th><th>status</th><th>time</th><th>key metrics</th><th>error</th></tr>
${
    rows.map((r) =>
      `<tr class="clip-row"><td>${
        r.thumb
          ? `<a href="${esc(r.href)}"><img src="${esc(r.thumb)}" alt="${esc(r.clip.clip)}"></a>`
          : ""
      }</td>
<td><a href="${esc(r.href)}">${esc(r.clip.clip)}</a></td>
<td><span class="badge s-${esc(r.clip.status)}">${esc(r.clip.status)}</span></td>
<td class="num">${esc(fmtS(r.clip.durationS))}</td>
<td>${
        r.keyMetrics.map((k) => {
          const met = metricMet(k);
          return `<div>${esc(k.name)}: <span class="${
            met === false ? "unmet" : met ? "met" : ""
          }">${esc(fmtValue(k.value))}${k.unit ? ` ${esc(k.unit)}` : ""}</span>${
            k.goal ? ` <span class="muted">(goal ${esc(fmtGoal(k))})</span>` : ""
          }</div>`;
        }).join("")
      }</td>
<td>${
        r.clip.error
          ? `<span class="unmet">${esc(r.clip.error)}</span>${
            r.clip.hint ? `<div class="muted">hint: ${esc(r.clip.hint)}</div>` : ""
          }`
          : ""
      }</td></tr>`
    ).join("\n")
  }
</table></section></main></body></html>
`;
}
