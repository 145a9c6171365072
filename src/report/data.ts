/**
 * The stored form of what one step declared for the report (`_report/data.json` in
 * its cache entry), validated on read: a malformed file is reported as missing data,
 * never a crash.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { z } from "zod";

export const REPORT_DATA_VERSION = 1;

const MediaRef = z.object({
  name: z.string(),
  /** A report-only file in the entry's `_report/` folder. */
  file: z.string().optional(),
  /** Or a declared file output of the step. */
  output: z.string().optional(),
  caption: z.string().optional(),
  thumbnail: z.boolean().optional(),
});

const Unit = z.enum(["s", "frame", "iteration"]);
const Series = z.object({
  name: z.string(),
  title: z.string(),
  x: z.union([
    z.object({ unit: Unit, start: z.number(), step: z.number() }),
    z.object({ unit: Unit, values: z.array(z.number()) }),
  ]),
  /** Samples per channel. */
  length: z.number().int().min(0),
  channels: z.record(z.string(), z.array(z.number().nullable())),
  yLabel: z.string().optional(),
  yDomain: z.tuple([z.number(), z.number()]).optional(),
  mark: z.enum(["line", "area", "bar"]).optional(),
  yScale: z.enum(["linear", "log"]).optional(),
  plot: z.string().optional(),
  order: z.number().optional(),
});

const Metric = z.object({
  name: z.string(),
  value: z.number().nullable(),
  unit: z.string().optional(),
  goal: z.object({ min: z.number().optional(), max: z.number().optional() }).optional(),
  description: z.string().optional(),
  key: z.boolean().optional(),
});

export const StepReportDataSchema = z.object({
  version: z.literal(REPORT_DATA_VERSION),
  images: z.array(MediaRef),
  videos: z.array(MediaRef),
  series: z.array(Series),
  metrics: z.array(Metric),
});
export type StepReportData = z.infer<typeof StepReportDataSchema>;
export type ReportSeriesData = z.infer<typeof Series>;
export type ReportMetricData = z.infer<typeof Metric>;
export type ReportMediaRef = z.infer<typeof MediaRef>;

/** A step's report data with media resolved to absolute paths. */
export interface LoadedStepReport {
  images: { name: string; path: string; caption?: string; thumbnail?: boolean }[];
  videos: { name: string; path: string; caption?: string }[];
  series: ReportSeriesData[];
  metrics: ReportMetricData[];
}

/**
 * Read a step's report data (`path` = its `_report/data.json`); `outputs` are the step's
 * output paths. Returns null when the file is missing or malformed.
 */
export async function readStepReport(
  path: string,
  outputs: Record<string, string>,
): Promise<LoadedStepReport | null> {
  let data: StepReportData;
  try {
    const parsed = StepReportDataSchema.safeParse(JSON.parse(await Deno.readTextFile(path)));
    if (!parsed.success) return null;
    data = parsed.data;
  } catch {
    return null;
  }
  const dir = dirname(path);
  const resolveRef = (r: ReportMediaRef) => {
    const p = r.output !== undefined
      ? outputs[r.output]
      : r.file !== undefined
      ? join(dir, r.file)
      : undefined;
    return p === undefined ? null : {
      name: r.name,
      path: p,
      ...(r.caption !== undefined ? { caption: r.caption } : {}),
      ...(r.thumbnail ? { thumbnail: true } : {}),
    };
  };
  const nn = <T>(x: T | null): x is T => x !== null;
  return {
    images: data.images.map(resolveRef).filter(nn),
    videos: data.videos.map(resolveRef).filter(nn),
    series: data.series,
    metrics: data.metrics,
  };
}

/** x values of a series ([length]). */
export function seriesX(s: ReportSeriesData): number[] {
  return "values" in s.x
    ? s.x.values
    : Array.from({ length: s.length }, (_, i) =>
      (s.x as { start: number; step: number }).start + i * (s.x as { step: number }).step);
}

/** Whether a metric meets its goal (undefined without a goal or value). */
export function metricMet(m: ReportMetricData): boolean | undefined {
  if (!m.goal || m.value === null) return undefined;
  return (m.goal.min === undefined || m.value >= m.goal.min) &&
    (m.goal.max === undefined || m.value <= m.goal.max);
}
