/**
 * The contract every step type implements. A step type is one file in
 * `src/stages/` that calls {@link defineStage} and is listed in
 * `src/stages/mod.ts`; the runner needs no edit to learn it.
 *
 * @module
 */
import type { z } from "zod";
import type { MediaBackend } from "../media/types.ts";
import type { SelectedBackend } from "../splat/mod.ts";

/** JSON-serialisable value (for value outputs stored in the cache manifest). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A declared output of a step type. */
export type OutputSpec =
  | { kind: "file"; ext: string; description: string }
  | { kind: "value"; description: string };

/** What a step's run function gets from the runner. */
export interface StageContext {
  /** Step id in the workflow (for messages). */
  readonly stepId: string;
  /** Staging directory for this step's outputs; renamed into the cache on success. */
  readonly outDir: string;
  /** Absolute path to write the declared file output `name` to. */
  output(name: string): string;
  /** Scratch directory, deleted after the step. */
  readonly tmpDir: string;
  /** The media backend chosen for this run. */
  readonly media: MediaBackend;
  /** Aborted when the run is interrupted; long loops must check it. */
  readonly signal: AbortSignal;
  /** Report progress: `done` of `total` units (e.g. frames). */
  progress(done: number, total?: number, unit?: string): void;
  /** Informational line (shown with --verbose, always in the NDJSON stream). */
  log(message: string): void;
  /** A warning the user should see (also recorded in the run report). */
  warn(message: string): void;
  /**
   * Declare artefacts for the HTML run report (images, videos, series, metrics).
   * They are stored with the step's cache entry, so a cached re-run reports them too.
   */
  readonly report: StageReport;
  /**
   * The run's splat backend for `choice` (default "auto"): created, and for "auto"
   * calibrated, once per run and shared by its steps; disposed when the run ends.
   */
  splat(choice?: "auto" | "cpu" | "webgpu"): Promise<SelectedBackend>;
  /**
   * A directory that survives an interrupted run of this step (same cache key), for
   * checkpoints of long steps; removed once the step succeeds.
   */
  readonly checkpointDir: string;
}

/**
 * What a stage declares for the HTML run report (`src/report/`). Every call is
 * optional; the report shows a section per step with what it declared, overlays
 * series that share a `plot` id across steps, and lists metrics with their goals.
 * Names are unique per step and kind (`[A-Za-z0-9_.-]+`); declaring a name twice replaces it.
 */
export interface StageReport {
  /**
   * Absolute path for a report-only file (e.g. `"mouth_strip.png"`) inside this step's
   * cache entry. Write it there (PNG/JPEG, small: thumbnails), then declare it with
   * `image(name, { file })`.
   */
  file(fileName: string): string;
  /** Show an image: a file made with `file()`, or one of this step's declared file outputs. */
  image(name: string, opts: ReportMediaOptions): void;
  /** Embed a video (a declared `.mp4`/`.webm` file output, or a `file()`). */
  video(name: string, opts: ReportMediaOptions): void;
  /** A plot: one or more channels over a shared x axis. */
  series(name: string, series: ReportSeries): void;
  /** A measured number, with an optional goal (shown as met / not met). `null` = not measurable. */
  metric(name: string, value: number | null, opts?: ReportMetricOptions): void;
}

export interface ReportMediaOptions {
  /** A file returned by `ctx.report.file()`. */
  file?: string;
  /** Or the name of one of this step's declared file outputs. */
  output?: string;
  /** One line under the picture. */
  caption?: string;
  /** Use this picture as the clip's thumbnail in a batch's index (default: the first picture). */
  thumbnail?: boolean;
}

export interface ReportSeries {
  /** Plot title. */
  title: string;
  /**
   * The x axis: evenly spaced (`start`, `step`) or explicit `values` ([N]). Unit "s" (time in
   * seconds) lets series of different steps share one time axis.
   */
  x:
    | { unit: "s" | "frame" | "iteration"; start: number; step: number }
    | { unit: "s" | "frame" | "iteration"; values: ArrayLike<number> };
  /** Channel name → values [N], all the same length N. NaN = no value (drawn as a gap). */
  channels: Record<string, ArrayLike<number>>;
  /** Label of the y axis (with its unit). */
  yLabel?: string;
  /** Fixed y range, e.g. [0, 1]. */
  yDomain?: [number, number];
  /** "line" (default), "area" (filled, e.g. energy, voice activity), "bar". */
  mark?: "line" | "area" | "bar";
  /** Log y scale (e.g. loss curves). */
  yScale?: "linear" | "log";
  /**
   * Series with the same plot id (from any step of the clip) are drawn as stacked panels
   * sharing the x axis, e.g. `"driving"`: dialogue energy + voice activity + articulation.
   * Without one, the series is drawn alone in its step's section.
   */
  plot?: string;
  /** Order of the panel within a shared plot (smaller first; default 0). */
  order?: number;
}

export interface ReportMetricOptions {
  /** Unit shown after the value ("dB", "ms", "%"). */
  unit?: string;
  /** The goal: met when min ≤ value ≤ max (either bound optional). */
  goal?: { min?: number; max?: number };
  /** What it measures, in a few words. */
  description?: string;
  /** Show it in the batch index (key metrics). */
  key?: boolean;
}

/** What a run function returns; file outputs are the files it wrote via `ctx.output()`. */
export interface StageResult {
  values?: Record<string, JsonValue>;
}

/** A step type. `S` is the zod schema of its `with:` parameters. */
export interface StageDef<S extends z.ZodObject = z.ZodObject> {
  /** Name used in `uses:`, e.g. "media.probe". */
  readonly type: string;
  /** Bump when outputs change for the same inputs; part of the cache key. */
  readonly version: number;
  /**
   * The URL of the file that defines the step type: `import.meta.url`. When it is a
   * readable `file:` URL, a hash of that file and the local files it imports
   * (transitively, `code_hash.ts`) is part of the cache key too, so a changed
   * implementation re-runs the step without a `version` bump. Without it (or where
   * the sources cannot be read) the version alone stands for the code.
   */
  readonly module?: string;
  /** One line for `dub steps`. */
  readonly description: string;
  /** Schema of the `with:` parameters: the single source of truth. */
  readonly params: S;
  /**
   * Names of parameters that hold file paths (string or string[]); the
   * runner checks they exist and hashes their content into the cache key.
   */
  readonly fileParams: readonly string[];
  /** Declared outputs, referenced as `${{ steps.<id>.outputs.<name> }}`. */
  readonly outputs: Readonly<Record<string, OutputSpec>>;
  run(ctx: StageContext, params: z.output<S>): Promise<StageResult>;
}

/** Identity function that keeps the parameter type inferred. */
export function defineStage<S extends z.ZodObject>(def: StageDef<S>): StageDef<S> {
  return def;
}
