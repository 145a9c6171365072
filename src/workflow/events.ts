/**
 * What a run tells its observers and leaves behind: the events (progress bars,
 * `--json` NDJSON, relayed through the queue by workers), the clip and step
 * records, and the run report. The report written to disk names step outputs
 * by `{key, name, sha256}` (see {@link reportForFile}), never by a cache path,
 * so it means the same on every machine.
 *
 * @module
 */
import type { OutputRef } from "./cache.ts";
import type { JsonValue } from "./stage.ts";

/** Events for progress display and `--json` (NDJSON). */
export type RunEvent =
  | { type: "run_start"; workflow: string; clips: number; media: string; cacheDir: string }
  /** Something the user should know about the run as a whole (e.g. concurrency lowered). */
  | { type: "notice"; message: string }
  | { type: "clip_start"; clip: string }
  | { type: "step_start"; clip: string; step: string; uses: string; key: string; cached: boolean }
  | {
    type: "step_progress";
    clip: string;
    step: string;
    done: number;
    total?: number;
    unit?: string;
    ratePerS?: number;
  }
  | {
    type: "step_log";
    clip: string;
    step: string;
    level: "info" | "warn";
    message: string;
    /** A warning recorded when the step ran earlier, shown again for its cached result. */
    cached?: boolean;
  }
  | {
    type: "step_end";
    clip: string;
    step: string;
    status: "cached" | "ran" | "failed";
    durationS: number;
    key: string;
    error?: string;
  }
  | { type: "output_written"; clip: string; name: string; path: string }
  /** The HTML report: `path` is the page to open (report.html, or a batch's index.html). */
  | { type: "report_written"; path: string; clips: string[] }
  | { type: "report_failed"; error: string }
  | { type: "clip_end"; clip: string; status: "ok" | "failed"; durationS: number; error?: string }
  | {
    type: "summary";
    ok: number;
    failed: number;
    durationS: number;
    report: string;
    failedClips: { clip: string; error: string }[];
  };

export interface StepRecord {
  id: string;
  uses: string;
  key: string;
  status: "cached" | "ran" | "failed" | "not-run";
  durationS: number;
  /** Output name → local path of the cached file (this machine; not in the report file). */
  outputs: Record<string, string>;
  /** Output name → where it lives in any cache: `{key, name, sha256}`. */
  refs: Record<string, OutputRef>;
  values: Record<string, JsonValue>;
  warnings: string[];
  error?: string;
  /** Local path of the step's report data (`_report/data.json` in its cache entry), if any. */
  report?: string;
  /** Seconds the step took when its result was computed (differs from durationS when cached). */
  computeS?: number;
}

export interface ClipRecord {
  clip: string;
  inputs: Record<string, unknown>;
  status: "ok" | "failed";
  durationS: number;
  steps: StepRecord[];
  outputs: Record<string, string>;
  error?: string;
  errorKind?: string;
  hint?: string;
}

/** A clip that failed before (or outside) its steps: no steps, no outputs. */
export function failedClipRecord(
  clip: string,
  inputs: Record<string, unknown>,
  error: string,
): ClipRecord {
  return {
    clip,
    inputs,
    status: "failed",
    durationS: 0,
    steps: [],
    outputs: {},
    error,
    errorKind: "step",
  };
}

export interface RunReport {
  reportVersion: 1;
  workflow: string;
  startedAt: string;
  durationS: number;
  media: string;
  cacheDir: string;
  clips: ClipRecord[];
}

/** A step record as written to a report file: outputs by reference only. */
export type StepRecordFile = Omit<StepRecord, "outputs" | "refs" | "report"> & {
  outputs: Record<string, OutputRef>;
};
export type ClipRecordFile = Omit<ClipRecord, "steps"> & { steps: StepRecordFile[] };
export type RunReportFile = Omit<RunReport, "reportVersion" | "clips"> & {
  reportVersion: 2;
  clips: ClipRecordFile[];
};

/**
 * The report as written to disk (and sent through the queue): step outputs are
 * `{key, name, sha256}` references, the same on every machine; the clip's
 * published outputs stay the paths the workflow asked for.
 */
export function reportForFile(r: RunReport): RunReportFile {
  return { ...r, reportVersion: 2, clips: r.clips.map(clipForFile) };
}

export function clipForFile(c: ClipRecord): ClipRecordFile {
  return {
    ...c,
    steps: c.steps.map(({ outputs: _o, refs, report: _r, ...rest }) => ({
      ...rest,
      outputs: refs,
    })),
  };
}

/**
 * A clip record read back from a report file or a queue result: step outputs are
 * known by reference only (`refs`); their local paths are empty until looked up
 * in a cache this machine sees (see `localisePaths` in src/worker/submit.ts).
 * An older record that still carries local paths (`refs` present) is returned as is.
 */
export function clipFromFile(c: ClipRecordFile | ClipRecord): ClipRecord {
  return {
    ...c,
    steps: c.steps.map((s) =>
      "refs" in s ? s : (({ outputs, ...rest }: StepRecordFile) => ({
        ...rest,
        outputs: {},
        refs: outputs,
      }))(s)
    ),
  };
}
