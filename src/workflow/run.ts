/**
 * The runner: a workflow's clip jobs (one, or one per clip of a batch) checked
 * before anything runs, handed to an {@link Executor} (this process by default,
 * `dub worker`s through a queue otherwise), then the run report and the HTML
 * report. One clip's run (`clip.ts`) is a pure function of (workflow, the clip's
 * inputs, the cache); each step is cached by a content key (`resolve.ts`).
 *
 * @module
 */
import { basename, dirname, extname, join, resolve } from "node:path";
import { sweepPartials, writeFileAtomic } from "../atomic.ts";
import { DubError } from "../errors.ts";
import type { MediaBackend } from "../media/types.ts";
import { defaultReportFolder, writeHtmlReports } from "../report/mod.ts";
import { type CacheStore, LocalCacheStore } from "./cache.ts";
import { reportForFile, type RunEvent, type RunReport } from "./events.ts";
import { type Executor, LocalExecutor } from "./executor.ts";
import {
  checkRegularFiles,
  checkWritable,
  describeWriteError,
  readFilesOf,
  readsInside,
  writeConflicts,
  type WriteFile,
  writeHint,
} from "./guard.ts";
import { type ClipJob, clipJobs, markDuplicateOutputs, outputPath } from "./jobs.ts";
import { concurrencyCap } from "./limits.ts";
import type { LoadedWorkflow } from "./load.ts";
import { FolderRunRecords, type RunRecords } from "./records.ts";

// The runner's parts, re-exported for callers that used to find them here.
export type { ClipRecord, RunEvent, RunReport, StepRecord } from "./events.ts";
export { clipJobs, outputPath, resolveInputs } from "./jobs.ts";
export type { ClipJob } from "./jobs.ts";
export { explainChange, resolveStep } from "./resolve.ts";
export type { ResolvedStep, StepJob } from "./resolve.ts";
export { runClipJob } from "./clip.ts";

export interface RunOptions {
  cacheDir: string;
  media: MediaBackend;
  /** Re-run every step (true) or the named step. */
  force?: boolean | string;
  /** Clip jobs at once in a batch (default: the workflow's `batch.concurrency`). */
  concurrency?: number;
  /** Batch over this folder/glob (overrides the workflow's `batch.clips`). */
  batch?: string;
  onEvent?: (e: RunEvent) => void;
  signal?: AbortSignal;
  store?: CacheStore;
  /** Run records (explain state, reports); default: folders beside the cache. */
  records?: RunRecords;
  /** Where clips run; default: this process ({@link LocalExecutor}). */
  executor?: Executor;
  /** Also write the run report here. */
  reportPath?: string;
  /** Called with the error object of each failed clip (for `--verbose` cause chains). */
  onClipError?: (clip: string, error: unknown) => void;
  /** The HTML report's page path, or false for none (default: a folder next to the outputs). */
  reportHtml?: string | false;
}

/** Run a workflow (one clip or a batch). Never throws for a failing clip: see the report. */
export async function runWorkflow(wf: LoadedWorkflow, opts: RunOptions): Promise<RunReport> {
  const t0 = performance.now();
  const store = opts.store ?? new LocalCacheStore(opts.cacheDir);
  const records = opts.records ?? new FolderRunRecords(store.root);
  const emit = opts.onEvent ?? (() => {});
  const jobs = await clipJobs(wf, opts.batch);
  markDuplicateOutputs(wf, jobs);
  const htmlTarget = htmlReportTarget(wf, jobs, store.root, opts);
  await preflight(wf, jobs, {
    cacheDir: store.root,
    ...(opts.reportPath !== undefined ? { reportPath: opts.reportPath } : {}),
    ...(typeof opts.reportHtml === "string" ? { reportHtmlPath: opts.reportHtml } : {}),
    ...(htmlTarget && !opts.reportHtml
      ? { reportHtmlFolder: defaultReportFolder(htmlTarget.outputDir, htmlTarget) }
      : {}),
    batch: opts.batch !== undefined || wf.file.batch !== undefined,
  });
  await store.sweepStaging();
  let executor = opts.executor;
  let notice: string | undefined;
  if (!executor) {
    const requested = Math.max(1, opts.concurrency ?? wf.file.batch?.concurrency ?? 1);
    const cap = concurrencyCap(opts.media.name);
    const concurrency = Math.min(requested, cap.jobs);
    if (concurrency < requested) {
      notice = `Concurrency lowered from ${requested} to ${concurrency}: ${cap.reason}`;
    }
    executor = new LocalExecutor({ store, records, media: opts.media, concurrency });
  }
  emit({
    type: "run_start",
    workflow: wf.path,
    clips: jobs.length,
    media: executor.name,
    cacheDir: executor.cacheDescription,
  });
  if (notice) emit({ type: "notice", message: notice });
  const clipRecords = await executor.run(wf, jobs, {
    emit,
    store,
    ...(opts.force !== undefined ? { force: opts.force } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onClipError ? { onClipError: opts.onClipError } : {}),
  });
  const report: RunReport = {
    reportVersion: 1,
    workflow: wf.path,
    startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
    durationS: (performance.now() - t0) / 1000,
    media: executor.name,
    cacheDir: executor.cacheDescription,
    clips: clipRecords,
  };
  const reportFile = await records.writeRun(reportForFile(report)).catch((e) => {
    throw new DubError(
      "step",
      `Cannot write the run report in "${store.root}": ${describeWriteError(e, store.root)}`,
      { hint: writeHint(e, "cache folder (--cache-dir)"), cause: e },
    );
  });
  if (opts.reportPath) {
    await writeJsonAtomic(resolve(opts.reportPath), reportForFile(report)).catch((e) => {
      throw new DubError(
        "usage",
        `Cannot write the report "${opts.reportPath}": ${
          describeWriteError(e, dirname(resolve(opts.reportPath!)))
        }`,
        { hint: writeHint(e, "report (--report)"), cause: e },
      );
    });
  }
  if (htmlTarget) {
    // A report that cannot be written does not fail the run (its outputs are written).
    try {
      const html = await writeHtmlReports(report, {
        ...(opts.reportHtml ? { path: opts.reportHtml } : {}),
        outputDir: htmlTarget.outputDir,
        name: htmlTarget.name,
        batch: htmlTarget.batch,
        steps: wf.order.map((s) => ({ id: s.id, uses: s.uses })),
      });
      emit({ type: "report_written", path: html.path, clips: html.clips.map((c) => c.path) });
    } catch (e) {
      emit({ type: "report_failed", error: (e as Error).message });
    }
  }
  const failed = clipRecords.filter((r) => r.status === "failed");
  emit({
    type: "summary",
    ok: clipRecords.length - failed.length,
    failed: failed.length,
    durationS: report.durationS,
    report: opts.reportPath ? resolve(opts.reportPath) : reportFile,
    failedClips: failed.map((r) => ({ clip: r.clip, error: r.error ?? "failed" })),
  });
  return report;
}

/** Where the HTML report goes (undefined: no HTML report for this run). */
function htmlReportTarget(
  wf: LoadedWorkflow,
  jobs: ClipJob[],
  cacheRoot: string,
  opts: RunOptions,
): { outputDir: string; name: string; batch: boolean; clip: string } | undefined {
  if (opts.reportHtml === false || wf.file.report === false || jobs.length === 0) return undefined;
  const firstOut = Object.values(wf.file.outputs)[0];
  return {
    outputDir: firstOut
      ? dirname(outputPath(wf, firstOut.path, jobs[0]!))
      : join(cacheRoot, "reports"),
    name: wf.file.name ?? basename(wf.path, extname(wf.path)),
    batch: jobs.length > 1 || wf.file.batch !== undefined || opts.batch !== undefined,
    clip: jobs[0]!.name,
  };
}

function writeJsonAtomic(path: string, v: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(v, null, 2) + "\n", { mkdir: true });
}

/**
 * Before any step runs: every file the run will write is checked against every
 * file it reads (see guard.ts) and for being writable. A conflict in a single run,
 * or one that involves the report or cache, fails the run (exit 2); in a batch a
 * clip with a conflicting output fails alone. Partial files of killed runs left
 * in the output folders are swept.
 */
export async function preflight(
  wf: LoadedWorkflow,
  jobs: ClipJob[],
  opts: {
    cacheDir: string;
    reportPath?: string;
    reportHtmlPath?: string;
    /** The default HTML report folder (when no --report-html page is given). */
    reportHtmlFolder?: string;
    batch: boolean;
    checkWritable?: boolean;
  },
): Promise<void> {
  const writable = opts.checkWritable !== false;
  if (writable) {
    await checkWritable(opts.cacheDir, "cache folder", { folder: true, kind: "usage" })
      .catch((e) => {
        if (e instanceof DubError) {
          throw new DubError("usage", e.message, {
            hint: `pass --cache-dir (or set DUB_CACHE_DIR) to a writable folder`,
            cause: e.cause,
          });
        }
        throw e;
      });
    if (opts.reportPath) await checkWritable(opts.reportPath, "report (--report)");
    if (opts.reportHtmlPath) {
      await checkWritable(opts.reportHtmlPath, "HTML report (--report-html)");
    }
  }
  const runWrites: WriteFile[] = [];
  const writeDirs: { path: string; role: string }[] = [];
  if (opts.reportPath) {
    runWrites.push({ path: resolve(opts.reportPath), role: "the report (--report)", from: "cli" });
  }
  if (opts.reportHtmlPath) {
    const page = resolve(opts.reportHtmlPath);
    runWrites.push({ path: page, role: "the HTML report (--report-html)", from: "cli" });
    // A single clip's pictures go to a folder beside the page (a batch's to per-clip
    // folders named after the clips; only the pages are checked there).
    if (!opts.batch) {
      writeDirs.push({
        path: join(dirname(page), `${basename(page, extname(page))}_files`),
        role: "the HTML report's pictures folder",
      });
    }
  }
  if (opts.reportHtmlFolder) {
    writeDirs.push({ path: opts.reportHtmlFolder, role: "the HTML report's folder" });
  }
  const dirs = new Set<string>();
  for (const job of jobs) {
    if (job.error) continue;
    const outs = Object.entries(wf.file.outputs).map(([name, o]) => ({
      path: outputPath(wf, o.path, job),
      role: `output "${name}"`,
      from: "workflow" as const,
    }));
    for (const o of outs) dirs.add(dirname(o.path));
    const reads = readFilesOf(wf, job.inputs);
    try {
      await checkRegularFiles(reads);
    } catch (e) {
      if (!opts.batch) throw e;
      job.error = (e as Error).message;
      continue;
    }
    const problems = await writeConflicts(reads, [...runWrites, ...outs], opts.cacheDir);
    problems.push(...await readsInside(reads, writeDirs));
    if (problems.length === 0) continue;
    const hint = "choose output and report paths that differ from the workflow, its inputs, " +
      "models and the cache folder";
    const runWide = problems.some((p) => /the (HTML )?report/.test(p));
    if (!opts.batch || runWide) throw new DubError("workflow", problems.join("\n"), { hint });
    job.error = problems.join("; ");
    job.errorKind = "workflow";
  }
  if (writable) {
    for (const d of dirs) {
      await checkWritable(d, "output folder", {
        folder: true,
        kind: "workflow",
        hint: "change the output path under outputs: in the workflow, or make the folder writable",
      });
      await sweepPartials(d);
    }
  }
}
