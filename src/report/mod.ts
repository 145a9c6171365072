/**
 * The visual run report: every run writes a self-contained folder with
 * `report.html` (one clip) or `index.html` plus one `report.html` per clip (a
 * batch), assembled from what each step declared through `ctx.report` (see
 * `src/report/collect.ts`): pictures and videos are copied next to the page,
 * series become inline SVG plots (Vega-Lite, rendered here), metrics a table
 * with their goals. Nothing is fetched from the network when viewing.
 *
 * Layout: `<dir>/report.html` + `<dir>/files/…` for one clip; for a batch
 * `<dir>/index.html` + `<dir>/<clip>/report.html` + `<dir>/<clip>/files/…`, where `<dir>` is
 * `<output folder>/<workflow name>_batch_report/` by default.
 * With an explicit page path `p/name.html`, its files go to `p/name_files/`.
 *
 * @module
 */
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { copyFileAtomic, writeFileAtomic } from "../atomic.ts";
import type { ClipRecord, RunReport } from "../workflow/run.ts";
import { type LoadedStepReport, readStepReport, type ReportSeriesData } from "./data.ts";
import { clipPage, indexPage, type IndexRow, type PageMedia, type PageStep } from "./html.ts";
import { seriesSvg, stackedSvg, stepTimeSvg } from "./plots.ts";
import { decodePng, encodeJpeg, thumbnail } from "./pictures.ts";

export { createStepReport, isReportFile, REPORT_DATA_KEY } from "./collect.ts";
export { readStepReport } from "./data.ts";

/** Videos larger than this are linked by path instead of copied into the report folder. */
export const MAX_COPY_BYTES = 64 * 1024 * 1024;
/** PNG pictures larger than this are copied as a JPEG at most {@link MAX_IMAGE_WIDTH} wide. */
export const MAX_PNG_BYTES = 256 * 1024;
export const MAX_IMAGE_WIDTH = 1000;

export interface HtmlReportTarget {
  /** Explicit page path (`--report-html`): the clip's report, or the batch's index. */
  path?: string;
  /** Folder the run's outputs go to: the default report folder is made there. */
  outputDir: string;
  /** Name of the run (workflow name), for the batch folder. */
  name: string;
  /** Whether this is a batch (an index page plus one report per clip). */
  batch: boolean;
  /** The workflow's steps in run order: steps a clip never reached are listed as not run. */
  steps?: { id: string; uses: string }[];
}

export interface HtmlReportResult {
  /** The page to open: report.html (one clip) or index.html (a batch). */
  path: string;
  clips: { clip: string; path: string }[];
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^\.+/, "_") || "_";
const MARKER = ".dub-report";

/** Replace `dir` (a files folder this module made, or absent) by a fresh empty one. */
async function freshFilesDir(dir: string): Promise<void> {
  try {
    await Deno.stat(join(dir, MARKER));
    const trash = `${dir}.old-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.rename(dir, trash);
    await Deno.remove(trash, { recursive: true }).catch(() => {});
  } catch {
    // Not ours (or absent): leave any existing files, only add ours.
  }
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, MARKER), "made by dub's HTML report; replaced on each run\n");
}

async function loadSteps(clip: ClipRecord): Promise<(LoadedStepReport | null)[]> {
  return await Promise.all(
    clip.steps.map((s) => (s.report ? readStepReport(s.report, s.outputs) : Promise.resolve(null))),
  );
}

/** Build one clip's page into `page` with its files in `filesDir`; returns the first picture (relative to the page) for thumbnails. */
async function writeClip(
  report: RunReport,
  reached: ClipRecord,
  planned: { id: string; uses: string }[],
  page: string,
  filesDir: string,
  indexHref?: string,
): Promise<{ thumb: string | null; keyMetrics: LoadedStepReport["metrics"] }> {
  // Steps after a failure never ran: list them too, as not run.
  const missing = planned.filter((p) => !reached.steps.some((s) => s.id === p.id));
  const clip: ClipRecord = {
    ...reached,
    steps: [
      ...reached.steps,
      ...missing.map((p) => ({
        id: p.id,
        uses: p.uses,
        key: "",
        status: "not-run" as const,
        durationS: 0,
        outputs: {},
        refs: {},
        values: {},
        warnings: [],
      })),
    ],
  };
  const loaded = await loadSteps(clip);
  await freshFilesDir(filesDir);
  const rel = (p: string) => relative(dirname(page), p).split("\\").join("/");
  const copy = async (
    stepId: string,
    m: { name: string; path: string; caption?: string; thumbnail?: boolean },
    limit: number,
  ) => {
    let size = 0;
    try {
      size = (await Deno.stat(m.path)).size;
    } catch {
      return null;
    }
    const ext = extname(m.path).toLowerCase();
    const stem = join(filesDir, `${safe(stepId)}-${safe(m.name)}`);
    let dest = `${stem}${ext}`;
    const copied = size <= limit;
    if (copied && ext === ".png" && size > MAX_PNG_BYTES) {
      // Keep the page light: a large PNG (e.g. a contact sheet) becomes a JPEG.
      let img = decodePng(await Deno.readFile(m.path));
      if (img.width > MAX_IMAGE_WIDTH) img = thumbnail(img, MAX_IMAGE_WIDTH);
      dest = `${stem}.jpg`;
      await writeFileAtomic(dest, encodeJpeg(img, 85));
    } else if (copied) await copyFileAtomic(m.path, dest);
    const out: PageMedia = {
      name: m.name,
      src: copied ? rel(dest) : null,
      path: m.path,
      sizeBytes: size,
      ...(m.caption !== undefined ? { caption: m.caption } : {}),
      ...(m.thumbnail ? { thumbnail: true } : {}),
    };
    return out;
  };
  const nn = <T>(x: T | null): x is T => x !== null;
  const shared = new Map<string, ReportSeriesData[]>();
  const steps: PageStep[] = [];
  for (let i = 0; i < clip.steps.length; i++) {
    const rec = clip.steps[i]!;
    const d = loaded[i];
    if (!d) {
      steps.push({ rec, images: [], videos: [], plots: [], metrics: [] });
      continue;
    }
    const plots: string[] = [];
    for (const s of d.series) {
      if (s.plot !== undefined) {
        const list = shared.get(s.plot) ?? [];
        list.push(s);
        shared.set(s.plot, list);
      } else plots.push(await seriesSvg(s));
    }
    steps.push({
      rec,
      images: (await Promise.all(d.images.map((m) => copy(rec.id, m, Infinity)))).filter(nn),
      videos: (await Promise.all(d.videos.map((m) => copy(rec.id, m, MAX_COPY_BYTES)))).filter(nn),
      plots,
      metrics: d.metrics,
    });
  }
  const sharedPlots = [];
  for (const [id, list] of shared) sharedPlots.push({ id, svg: await stackedSvg(list) });
  const html = clipPage({
    workflow: report.workflow,
    startedAt: report.startedAt,
    media: report.media,
    clip,
    steps,
    sharedPlots,
    // Cached steps are drawn with the time they took when computed.
    stepTimeSvg: await stepTimeSvg(
      clip.steps.map((s) => ({
        id: s.id,
        status: s.status,
        durationS: s.status === "cached" ? s.computeS ?? 0 : s.durationS,
      })),
    ),
    ...(indexHref !== undefined ? { indexHref } : {}),
  });
  await writeFileAtomic(page, html, { mkdir: true });
  const images = steps.flatMap((s) => s.images).filter((m) => m.src !== null);
  const firstImage = images.find((m) => m.thumbnail) ?? images[0];
  return {
    thumb: firstImage ? firstImage.src : null,
    keyMetrics: steps.flatMap((s) => s.metrics.filter((m) => m.key)),
  };
}

/**
 * The folder the HTML report is written to when no page path is given: a single
 * clip's `<output folder>/<clip>_report/`, a batch's `<output folder>/<name>_batch_report/`.
 * The runner checks it against the files a run reads before any step runs.
 */
export function defaultReportFolder(
  outputDir: string,
  opts: { batch: boolean; name: string; clip: string },
): string {
  return opts.batch
    ? join(outputDir, `${safe(opts.name)}_batch_report`)
    : join(outputDir, `${safe(opts.clip)}_report`);
}

/** Write the HTML report of a run; returns the page to open. */
export async function writeHtmlReports(
  report: RunReport,
  target: HtmlReportTarget,
): Promise<HtmlReportResult> {
  if (!target.batch) {
    const clip = report.clips[0]!;
    const page = target.path
      ? resolve(target.path)
      : join(defaultReportFolder(target.outputDir, { ...target, clip: clip.clip }), "report.html");
    const filesDir = target.path
      ? join(dirname(page), `${basename(page, extname(page))}_files`)
      : join(dirname(page), "files");
    await writeClip(report, clip, target.steps ?? [], page, filesDir);
    return { path: page, clips: [{ clip: clip.clip, path: page }] };
  }
  const index = target.path
    ? resolve(target.path)
    : join(defaultReportFolder(target.outputDir, { ...target, clip: "" }), "index.html");
  const root = dirname(index);
  const rows: IndexRow[] = [];
  const clips: HtmlReportResult["clips"] = [];
  for (const clip of report.clips) {
    const page = join(root, safe(clip.clip), "report.html");
    const r = await writeClip(
      report,
      clip,
      target.steps ?? [],
      page,
      join(dirname(page), "files"),
      relative(dirname(page), index),
    );
    const href = relative(root, page).split("\\").join("/");
    rows.push({
      clip,
      href,
      thumb: r.thumb ? `${safe(clip.clip)}/${r.thumb}` : null,
      keyMetrics: r.keyMetrics,
    });
    clips.push({ clip: clip.clip, path: page });
  }
  await writeFileAtomic(
    index,
    indexPage({
      workflow: report.workflow,
      startedAt: report.startedAt,
      media: report.media,
      durationS: report.durationS,
      rows,
    }),
    { mkdir: true },
  );
  return { path: index, clips };
}
