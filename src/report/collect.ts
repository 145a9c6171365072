/**
 * The runner's side of the report contract: collects what a stage declares through
 * `ctx.report` (see {@link StageReport} in `src/workflow/stage.ts`) and stores it in
 * the step's staging folder, so it becomes part of the step's cache entry (hashed and
 * verified like any output) and a cached re-run reports the same.
 *
 * Entry layout: `_report/data.json` ({@link StepReportData}) plus the report-only
 * files under `_report/`. In the manifest they are the files named `report:data` and
 * `report:<file>`; {@link isReportFile} tells them apart from the step's outputs.
 *
 * @module
 */
import { join } from "node:path";
import type {
  OutputSpec,
  ReportMediaOptions,
  ReportSeries,
  StageReport,
} from "../workflow/stage.ts";
import { REPORT_DATA_VERSION, type StepReportData } from "./data.ts";

/** Manifest file name (key) of a step's report data. */
export const REPORT_DATA_KEY = "report:data";
const DIR = "_report";
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

/** True for the manifest keys of report files (not step outputs). */
export function isReportFile(key: string): boolean {
  return key.startsWith("report:");
}

function checkName(kind: string, name: string): void {
  if (!NAME_RE.test(name)) {
    throw new TypeError(`Report ${kind} name "${name}" must match ${NAME_RE}`);
  }
}

/** Round to 6 significant digits; NaN/±Infinity → null (a gap). */
function num(v: number): number | null {
  return Number.isFinite(v) ? Number(v.toPrecision(6)) : null;
}

export interface StepReportCollector {
  readonly api: StageReport;
  /** Write `_report/data.json`; returns manifest file entries to add (key → file name), or {} when nothing was declared. */
  finish(outputFiles: Record<string, string>): Promise<Record<string, string>>;
  /** The data declared so far (for tests). */
  data(): StepReportData;
}

/** A collector writing into the staging folder `dir` of a step whose type declares `outputs`. */
export function createStepReport(
  dir: string,
  outputs: Readonly<Record<string, OutputSpec>>,
): StepReportCollector {
  const files = new Set<string>();
  const d: StepReportData = {
    version: REPORT_DATA_VERSION,
    images: [],
    videos: [],
    series: [],
    metrics: [],
  };
  const upsert = <T extends { name: string }>(list: T[], item: T) => {
    const i = list.findIndex((x) => x.name === item.name);
    if (i >= 0) list[i] = item;
    else list.push(item);
  };
  const media = (kind: string, name: string, o: ReportMediaOptions) => {
    checkName(kind, name);
    if ((o.file === undefined) === (o.output === undefined)) {
      throw new TypeError(`Report ${kind} "${name}": give exactly one of file or output`);
    }
    let ref: { file: string } | { output: string };
    if (o.output !== undefined) {
      const spec = outputs[o.output];
      if (!spec || spec.kind !== "file") {
        throw new TypeError(
          `Report ${kind} "${name}": the step declares no file output "${o.output}"`,
        );
      }
      ref = { output: o.output };
    } else {
      const base = o.file!.slice(o.file!.lastIndexOf("/") + 1);
      if (!files.has(base) || o.file !== join(dir, DIR, base)) {
        throw new TypeError(
          `Report ${kind} "${name}": "${o.file}" was not made with ctx.report.file()`,
        );
      }
      ref = { file: base };
    }
    return {
      name,
      ...ref,
      ...(o.caption !== undefined ? { caption: o.caption } : {}),
      ...(o.thumbnail ? { thumbnail: true } : {}),
    };
  };
  const api: StageReport = {
    file(fileName) {
      checkName("file", fileName);
      files.add(fileName);
      Deno.mkdirSync(join(dir, DIR), { recursive: true });
      return join(dir, DIR, fileName);
    },
    image(name, o) {
      upsert(d.images, media("image", name, o));
    },
    video(name, o) {
      upsert(d.videos, media("video", name, o));
    },
    series(name, s: ReportSeries) {
      checkName("series", name);
      const lengths = Object.values(s.channels).map((c) => c.length);
      const n = lengths[0] ?? 0;
      if (lengths.length === 0 || lengths.some((l) => l !== n)) {
        throw new RangeError(
          `Report series "${name}": channels must be non-empty and of equal length (got ${
            lengths.join(", ") || "none"
          })`,
        );
      }
      if ("values" in s.x && s.x.values.length !== n) {
        throw new RangeError(
          `Report series "${name}": ${s.x.values.length} x values for ${n} samples`,
        );
      }
      upsert(d.series, {
        name,
        title: s.title,
        x: "values" in s.x
          ? { unit: s.x.unit, values: Array.from(s.x.values, (v) => num(v) ?? 0) }
          : { unit: s.x.unit, start: s.x.start, step: s.x.step },
        length: n,
        channels: Object.fromEntries(
          Object.entries(s.channels).map(([k, c]) => [k, Array.from(c, num)]),
        ),
        ...(s.yLabel !== undefined ? { yLabel: s.yLabel } : {}),
        ...(s.yDomain !== undefined ? { yDomain: s.yDomain } : {}),
        ...(s.mark !== undefined ? { mark: s.mark } : {}),
        ...(s.yScale !== undefined ? { yScale: s.yScale } : {}),
        ...(s.plot !== undefined ? { plot: s.plot } : {}),
        ...(s.order !== undefined ? { order: s.order } : {}),
      });
    },
    metric(name, value, o = {}) {
      checkName("metric", name);
      upsert(d.metrics, {
        name,
        value: value === null ? null : num(value),
        ...(o.unit !== undefined ? { unit: o.unit } : {}),
        ...(o.goal !== undefined ? { goal: o.goal } : {}),
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.key !== undefined ? { key: o.key } : {}),
      });
    },
  };
  return {
    api,
    data: () => d,
    async finish(outputFiles) {
      // Pictures of optional outputs the step did not write are dropped.
      const have = (r: { output?: string | undefined }) =>
        r.output === undefined || r.output in outputFiles;
      d.images = d.images.filter(have);
      d.videos = d.videos.filter(have);
      const used = [...d.images, ...d.videos].map((r) => r.file).filter((f) => f !== undefined);
      const out: Record<string, string> = {};
      for (const f of used) {
        try {
          await Deno.stat(join(dir, DIR, f));
        } catch {
          throw new Error(`Report file "${f}" was declared but not written`);
        }
        out[`report:${f}`] = `${DIR}/${f}`;
      }
      if (!d.images.length && !d.videos.length && !d.series.length && !d.metrics.length) return {};
      await Deno.mkdir(join(dir, DIR), { recursive: true });
      await Deno.writeTextFile(join(dir, DIR, "data.json"), JSON.stringify(d));
      out[REPORT_DATA_KEY] = `${DIR}/data.json`;
      return out;
    },
  };
}
