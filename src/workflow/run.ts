/**
 * The runner. One clip's run is a pure function of (workflow, the clip's
 * inputs, the cache): steps run in DAG order, each cached by content key
 * (step type + version + resolved params + input/model content hashes). A batch
 * is a set of independent clip jobs with bounded concurrency; a failing clip is
 * reported and the others go on.
 *
 * @module
 */
import { basename, dirname, extname, join, resolve } from "node:path";
import type { z } from "zod";
import { publishFiles, sweepPartials, writeFileAtomic } from "../atomic.ts";
import { DubError } from "../errors.ts";
import type { MediaBackend } from "../media/types.ts";
import { findStage } from "../stages/mod.ts";
import { type CacheEntry, type CacheStore, hashFile, hashJson, LocalCacheStore } from "./cache.ts";
import { expandBatch } from "./batch.ts";
import {
  checkRegularFiles,
  checkWritable,
  describeWriteError,
  fileKind,
  readFilesOf,
  readsInside,
  writeConflicts,
  type WriteFile,
  writeHint,
} from "./guard.ts";
import { concurrencyCap } from "./limits.ts";
import type { LoadedWorkflow } from "./load.ts";
import { findRefs, interpolate, mapStrings, type Ref, refText, walkStrings } from "./refs.ts";
import type { JsonValue, StageContext } from "./stage.ts";
import type { SelectedBackend } from "../splat/mod.ts";
import { createStepReport, isReportFile, REPORT_DATA_KEY } from "../report/collect.ts";
import { writeHtmlReports } from "../report/mod.ts";

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
  /** Also write the run report here. */
  reportPath?: string;
  /** Called with the error object of each failed clip (for `--verbose` cause chains). */
  onClipError?: (clip: string, error: unknown) => void;
  /** The HTML report's page path, or false for none (default: a folder next to the outputs). */
  reportHtml?: string | false;
}

export interface StepRecord {
  id: string;
  uses: string;
  key: string;
  status: "cached" | "ran" | "failed" | "not-run";
  durationS: number;
  outputs: Record<string, string>;
  values: Record<string, JsonValue>;
  warnings: string[];
  error?: string;
  /** The step's report data (`_report/data.json` in its cache entry), when it declared any. */
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

export interface RunReport {
  reportVersion: 1;
  workflow: string;
  startedAt: string;
  durationS: number;
  media: string;
  cacheDir: string;
  clips: ClipRecord[];
}

/** One clip job: the workflow plus the values of its inputs. */
export interface ClipJob {
  name: string;
  inputs: Record<string, unknown>;
  /** Template values for output paths. */
  stem: string;
  /** Set when the job cannot run (e.g. a batch clip without its audio). */
  error?: string;
  /** Kind of `error` (default "input"). */
  errorKind?: "input" | "workflow";
}

/** Resolve the workflow's input values (file inputs to absolute paths). */
export function resolveInputs(
  wf: LoadedWorkflow,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, decl] of Object.entries(wf.file.inputs)) {
    const isObj = typeof decl === "object";
    let v: unknown = name in overrides ? overrides[name] : isObj ? decl.default : decl;
    const type = isObj
      ? decl.type
      : typeof decl === "number"
      ? "number"
      : typeof decl === "boolean"
      ? "boolean"
      : "string";
    if (v === undefined) {
      out[name] = undefined;
      continue;
    }
    if (type === "file") {
      if (String(v).trim() === "") {
        throw new DubError("usage", `Input "${name}" is an empty path`, {
          hint: `pass a file: --set ${name}=PATH (or give it a default in the workflow)`,
        });
      }
      v = resolve(name in overrides ? Deno.cwd() : wf.dir, String(v));
    } else if (type === "number") {
      const n = Number(v);
      if (!Number.isFinite(n)) {
        throw new DubError("workflow", `Input "${name}" must be a number, got "${v}"`);
      }
      v = n;
    } else if (type === "boolean") v = v === true || v === "true";
    out[name] = v;
  }
  for (const [name, val] of Object.entries(wf.cwdInputs ?? {})) {
    const decl = wf.file.inputs[name];
    if (typeof decl === "object" && decl.type === "file" && !(name in overrides)) {
      if (String(val).trim() === "") {
        throw new DubError("usage", `--set ${name}= is an empty path`, {
          hint: `pass a file: --set ${name}=PATH`,
        });
      }
      out[name] = resolve(Deno.cwd(), String(val));
    }
  }
  return out;
}

/** The clip jobs of a run: one for a plain run, one per clip for a batch. */
export async function clipJobs(wf: LoadedWorkflow, batchOverride?: string): Promise<ClipJob[]> {
  const base = resolveInputs(wf);
  const batch = wf.file.batch;
  const pattern = batchOverride
    ? resolve(Deno.cwd(), batchOverride)
    : batch
    ? resolve(wf.dir, batch.clips)
    : null;
  if (!pattern) {
    const stem = typeof base[firstFileInput(wf) ?? ""] === "string"
      ? basename(String(base[firstFileInput(wf)!]), extname(String(base[firstFileInput(wf)!])))
      : wf.file.name ?? "run";
    return [{ name: wf.file.name ?? basename(wf.path, extname(wf.path)), inputs: base, stem }];
  }
  const input = batch?.input ?? firstFileInput(wf);
  if (!input) {
    throw new DubError("workflow", `Cannot batch "${wf.path}": it has no file input`, {
      hint: "declare an input with `type: file`",
    });
  }
  return await expandBatch(wf, pattern, input, batch?.pair ?? {}, base);
}

function firstFileInput(wf: LoadedWorkflow): string | undefined {
  return Object.entries(wf.file.inputs).find(([, d]) => typeof d === "object" && d.type === "file")
    ?.[0];
}

/** Run a workflow (one clip or a batch). Never throws for a failing clip: see the report. */
/** One splat backend per choice for a whole run (created lazily, disposed at the end). */
class SplatPool implements Disposable {
  #made = new Map<string, Promise<SelectedBackend>>();
  get(choice: "auto" | "cpu" | "webgpu"): Promise<SelectedBackend> {
    let p = this.#made.get(choice);
    if (!p) {
      p = import("../splat/mod.ts").then((m) => m.createSplatBackend({ backend: choice }));
      this.#made.set(choice, p);
      p.catch(() => this.#made.delete(choice));
    }
    return p;
  }
  [Symbol.dispose](): void {
    for (const p of this.#made.values()) p.then((b) => b[Symbol.dispose]()).catch(() => {});
  }
}

export async function runWorkflow(wf: LoadedWorkflow, opts: RunOptions): Promise<RunReport> {
  const t0 = performance.now();
  const store = opts.store ?? new LocalCacheStore(opts.cacheDir);
  const emit = opts.onEvent ?? (() => {});
  const jobs = await clipJobs(wf, opts.batch);
  markDuplicateOutputs(wf, jobs);
  await preflight(wf, jobs, {
    cacheDir: store.root,
    ...(opts.reportPath !== undefined ? { reportPath: opts.reportPath } : {}),
    ...(typeof opts.reportHtml === "string" ? { reportHtmlPath: opts.reportHtml } : {}),
    batch: opts.batch !== undefined || wf.file.batch !== undefined,
  });
  await store.sweepStaging();
  emit({
    type: "run_start",
    workflow: wf.path,
    clips: jobs.length,
    media: opts.media.name,
    cacheDir: store.root,
  });
  const requested = Math.max(1, opts.concurrency ?? wf.file.batch?.concurrency ?? 1);
  const cap = concurrencyCap(opts.media.name);
  const concurrency = Math.min(requested, cap.jobs);
  if (concurrency < requested) {
    emit({
      type: "notice",
      message: `Concurrency lowered from ${requested} to ${concurrency}: ${cap.reason}`,
    });
  }
  const records: ClipRecord[] = new Array(jobs.length);
  const inflight = new Map<string, Promise<CacheEntry>>();
  using splats = new SplatPool();
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      records[i] = await runClip(wf, jobs[i]!, { ...opts, store, onEvent: emit, inflight, splats });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  const report: RunReport = {
    reportVersion: 1,
    workflow: wf.path,
    startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
    durationS: (performance.now() - t0) / 1000,
    media: opts.media.name,
    cacheDir: store.root,
    clips: records,
  };
  const reportFile = join(
    store.root,
    "runs",
    `${report.startedAt.replace(/[:.]/g, "-")}-${basename(wf.path, extname(wf.path))}.json`,
  );
  await writeJsonAtomic(reportFile, report).catch((e) => {
    throw new DubError(
      "step",
      `Cannot write the run report "${reportFile}": ${describeWriteError(e, dirname(reportFile))}`,
      { hint: writeHint(e, "cache folder (--cache-dir)"), cause: e },
    );
  });
  if (opts.reportPath) {
    await writeJsonAtomic(resolve(opts.reportPath), report).catch((e) => {
      throw new DubError(
        "usage",
        `Cannot write the report "${opts.reportPath}": ${
          describeWriteError(e, dirname(resolve(opts.reportPath!)))
        }`,
        { hint: writeHint(e, "report (--report)"), cause: e },
      );
    });
  }
  if (opts.reportHtml !== false && wf.file.report !== false && jobs.length > 0) {
    // A report that cannot be written does not fail the run (its outputs are written).
    try {
      const firstOut = Object.values(wf.file.outputs)[0];
      const html = await writeHtmlReports(report, {
        ...(opts.reportHtml ? { path: opts.reportHtml } : {}),
        outputDir: firstOut
          ? dirname(outputPath(wf, firstOut.path, jobs[0]!))
          : join(store.root, "reports"),
        name: wf.file.name ?? basename(wf.path, extname(wf.path)),
        batch: jobs.length > 1 || wf.file.batch !== undefined || opts.batch !== undefined,
      });
      emit({ type: "report_written", path: html.path, clips: html.clips.map((c) => c.path) });
    } catch (e) {
      emit({ type: "report_failed", error: (e as Error).message });
    }
  }
  const failed = records.filter((r) => r.status === "failed");
  emit({
    type: "summary",
    ok: records.length - failed.length,
    failed: failed.length,
    durationS: report.durationS,
    report: opts.reportPath ? resolve(opts.reportPath) : reportFile,
    failedClips: failed.map((r) => ({ clip: r.clip, error: r.error ?? "failed" })),
  });
  return report;
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

/** Memoised content hashes for one run (path → sha256). */
const hashMemo = new Map<string, { mtime: number; size: number; hash: Promise<string> }>();
async function contentHash(path: string): Promise<string> {
  const st = await Deno.stat(path);
  if (!st.isFile) throw new Error(`it is ${fileKind(st)}, not a regular file`);
  const m = hashMemo.get(path);
  const mtime = st.mtime?.getTime() ?? 0;
  if (m && m.mtime === mtime && m.size === st.size) return await m.hash;
  const hash = hashFile(path);
  hashMemo.set(path, { mtime, size: st.size, hash });
  return await hash;
}

/** What a step will be run with, and its cache key. */
export interface ResolvedStep {
  id: string;
  uses: string;
  params: Record<string, unknown>;
  key: string;
  /** Key components, for explaining why a step re-runs. */
  components: { type: string; version: number; params: Record<string, string> };
}

/** Upstream results by step id (file output paths and values). */
type Results = Map<string, { paths: Record<string, string>; values: Record<string, JsonValue> }>;

/** Resolve a step's parameters against inputs and upstream results, check files, compute its key. */
export async function resolveStep(
  wf: LoadedWorkflow,
  index: number,
  inputs: Record<string, unknown>,
  results: Results,
): Promise<ResolvedStep> {
  const step = wf.file.steps[index]!;
  const stage = findStage(step.uses)!;
  const where = () => {
    const p = wf.locate(["steps", index, "with"]);
    return `${wf.path}:${p.line}:${p.col}`;
  };
  const lookup = (r: Ref): unknown => {
    if (r.kind === "inputs") {
      const v = inputs[r.name];
      if (v === undefined) {
        throw new DubError("workflow", `${where()}: input "${r.name}" has no value`, {
          hint: `give it a default in the workflow or pass --set ${r.name}=VALUE`,
        });
      }
      return v;
    }
    if (r.kind === "models") {
      const m = wf.file.models[r.name]!;
      return resolve(wf.dir, typeof m === "string" ? m : m.path);
    }
    const res = results.get(r.step);
    if (!res) throw new DubError("step", `${where()}: step "${r.step}" has not produced results`);
    if (r.output in res.paths) return res.paths[r.output];
    if (r.output in res.values) return res.values[r.output];
    throw new DubError("step", `${where()}: step "${r.step}" did not produce "${refText(r)}"`);
  };
  const raw = mapStrings(step.with, (s) => interpolate(s, lookup)) as Record<string, unknown>;
  const parsed = stage.params.safeParse(raw);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i: z.core.$ZodIssue) =>
      `parameter "${i.path.join(".")}": ${i.message}`
    ).join("; ");
    throw new DubError("workflow", `${where()}: step "${step.id}" (${step.uses}) ${msg}`);
  }
  const params = parsed.data as Record<string, unknown>;
  const paramHashes: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (stage.fileParams.includes(k) && v !== undefined && v !== null) {
      // Relative paths written in `with:` are relative to the workflow file.
      const files = (Array.isArray(v) ? v.map(String) : [String(v)]).map((f) => resolve(wf.dir, f));
      params[k] = Array.isArray(v) ? files : files[0];
      const hashes: string[] = [];
      for (const f of files) {
        try {
          hashes.push(await contentHash(f));
        } catch (e) {
          const nf = e instanceof Deno.errors.NotFound;
          throw new DubError(
            "input",
            `Cannot read "${f}" (step "${step.id}", parameter "${k}"): ${
              nf ? "file not found" : (e as Error).message
            }`,
            {
              hint: nf
                ? "check the path; relative paths in a workflow are relative to the workflow file"
                : undefined as never,
            },
          );
        }
      }
      paramHashes[k] = hashJson({ files: hashes });
    } else {
      paramHashes[k] = hashJson(v);
    }
  }
  // Models referenced anywhere in `with` are hashed by content (and checked against a declared sha256).
  const models: Record<string, string> = {};
  const modelRefs = new Set<string>();
  walkStrings(step.with, [], (str) => {
    for (const f of findRefs(str)) if (f.ref?.kind === "models") modelRefs.add(f.ref.name);
  });
  for (const name of [...modelRefs].sort()) {
    const decl = wf.file.models[name]!;
    const file = resolve(wf.dir, typeof decl === "string" ? decl : decl.path);
    let hash: string;
    try {
      hash = await contentHash(file);
    } catch {
      throw new DubError("input", `Cannot read model "${name}" at "${file}": file not found`, {
        hint: "fix the path under models: in the workflow",
      });
    }
    if (typeof decl === "object" && decl.sha256 && decl.sha256 !== hash) {
      throw new DubError(
        "input",
        `Model "${name}" at "${file}" has sha256 ${hash}, but the workflow expects ${decl.sha256}`,
        {
          hint: "use the model the workflow was written for, or update its sha256",
        },
      );
    }
    models[name] = hash;
  }
  if (Object.keys(models).length) paramHashes["models"] = hashJson(models);
  const components = { type: stage.type, version: stage.version, params: paramHashes };
  return { id: step.id, uses: step.uses, params, key: hashJson(components), components };
}

interface ExplainState {
  steps: Record<string, ResolvedStep["components"] & { key: string }>;
}
function statePath(root: string, wf: LoadedWorkflow, clip: string): string {
  return join(root, "state", `${hashJson([wf.path, clip]).slice(0, 32)}.json`);
}
export async function readExplainState(
  root: string,
  wf: LoadedWorkflow,
  clip: string,
): Promise<ExplainState> {
  try {
    return JSON.parse(await Deno.readTextFile(statePath(root, wf, clip))) as ExplainState;
  } catch {
    return { steps: {} };
  }
}

/** Why a step's key differs from the one recorded last time. */
export function explainChange(
  prev: (ResolvedStep["components"] & { key: string }) | undefined,
  cur: ResolvedStep,
): string {
  if (!prev) return "never run";
  if (prev.key === cur.key) return "its cache entry is missing or corrupt";
  if (prev.type !== cur.components.type) {
    return `step type changed (${prev.type} → ${cur.components.type})`;
  }
  if (prev.version !== cur.components.version) {
    return `step version changed (${prev.version} → ${cur.components.version})`;
  }
  const changed = [...new Set([...Object.keys(prev.params), ...Object.keys(cur.components.params)])]
    .filter((k) => prev.params[k] !== cur.components.params[k]);
  const stage = findStage(cur.uses);
  return changed.map((k) =>
    stage?.fileParams.includes(k) ? `content of "${k}" changed` : `parameter "${k}" changed`
  ).join(", ") || "inputs changed";
}

async function runClip(
  wf: LoadedWorkflow,
  job: ClipJob,
  opts: RunOptions & {
    store: CacheStore;
    onEvent: (e: RunEvent) => void;
    inflight: Map<string, Promise<CacheEntry>>;
    splats: SplatPool;
  },
): Promise<ClipRecord> {
  const t0 = performance.now();
  const emit = opts.onEvent;
  const clip = job.name;
  emit({ type: "clip_start", clip });
  const record: ClipRecord = {
    clip,
    inputs: job.inputs,
    status: "ok",
    durationS: 0,
    steps: [],
    outputs: {},
  };
  const results: Results = new Map();
  /** Every file a step read: outputs must never overwrite one of them. */
  const readFiles: string[] = [];
  const state = await readExplainState(opts.store.root, wf, clip);
  try {
    if (job.error) {
      throw new DubError(job.errorKind ?? "input", job.error, {
        hint: job.errorKind === "workflow"
          ? "choose output paths that differ from the files the run reads"
          : "add the missing file or set batch.pair in the workflow",
      });
    }
    for (const step of wf.order) {
      if (opts.signal?.aborted) throw new DubError("interrupted", "Interrupted");
      const index = wf.file.steps.indexOf(step);
      const stage = findStage(step.uses)!;
      const rs = await resolveStep(wf, index, job.inputs, results);
      for (const k of stage.fileParams) {
        const v = rs.params[k];
        if (typeof v === "string") readFiles.push(v);
        else if (Array.isArray(v)) readFiles.push(...v.map(String));
      }
      const force = opts.force === true || opts.force === step.id;
      const srec: StepRecord = {
        id: step.id,
        uses: step.uses,
        key: rs.key,
        status: "not-run",
        durationS: 0,
        outputs: {},
        values: {},
        warnings: [],
      };
      record.steps.push(srec);
      const ts = performance.now();
      // Another clip of this batch may be computing the same step right now.
      const pending = force ? undefined : opts.inflight.get(rs.key);
      let entry: CacheEntry | null = force
        ? null
        : pending
        ? await pending.catch(() => null)
        : await opts.store.get(rs.key);
      emit({
        type: "step_start",
        clip,
        step: step.id,
        uses: step.uses,
        key: rs.key,
        cached: entry !== null,
      });
      if (entry) {
        srec.status = "cached";
      } else {
        const running = executeStep(wf, rs, stage, clip, opts, srec, force);
        if (!force) opts.inflight.set(rs.key, running);
        entry = await running.finally(() => opts.inflight.delete(rs.key)).catch((e) => {
          srec.status = "failed";
          srec.durationS = (performance.now() - ts) / 1000;
          srec.error = (e as Error).message;
          emit({
            type: "step_end",
            clip,
            step: step.id,
            status: "failed",
            durationS: srec.durationS,
            key: rs.key,
            error: srec.error,
          });
          throw e;
        });
        srec.status = "ran";
      }
      srec.durationS = (performance.now() - ts) / 1000;
      srec.outputs = Object.fromEntries(
        Object.entries(entry.paths).filter(([k]) => !isReportFile(k)),
      );
      if (entry.paths[REPORT_DATA_KEY]) srec.report = entry.paths[REPORT_DATA_KEY];
      srec.computeS = entry.manifest.durationS;
      srec.values = entry.manifest.values;
      if (srec.status === "cached") {
        // Warnings belong to the result: show them again whenever it is used.
        srec.warnings = [...entry.manifest.warnings];
        for (const message of srec.warnings) {
          emit({ type: "step_log", clip, step: step.id, level: "warn", message, cached: true });
        }
      }
      results.set(step.id, { paths: entry.paths, values: entry.manifest.values });
      state.steps[step.id] = { ...rs.components, key: rs.key };
      emit({
        type: "step_end",
        clip,
        step: step.id,
        status: srec.status,
        durationS: srec.durationS,
        key: rs.key,
      });
    }
    // Publish the clip's outputs only now that every step succeeded, all or none:
    // each is copied to a temp name beside its destination, then all are renamed.
    const publish: { name: string; src: string; dest: string }[] = [];
    for (const [name, o] of Object.entries(wf.file.outputs)) {
      const r = /steps\.([^.]+)\.outputs\.([^\s}]+)/.exec(o.from)!;
      const src = results.get(r[1]!)?.paths[r[2]!];
      if (!src) {
        throw new DubError("step", `Output "${name}": step "${r[1]}" produced no file "${r[2]}"`);
      }
      publish.push({ name, src, dest: outputPath(wf, o.path, job) });
    }
    await publishOutputs(
      publish,
      [
        ...readFilesOf(wf, job.inputs),
        ...readFiles.map((path) => ({ path, role: "a file a step read" })),
      ],
      opts.store.root,
      opts.signal,
    );
    for (const p of publish) {
      record.outputs[p.name] = p.dest;
      emit({ type: "output_written", clip, name: p.name, path: p.dest });
    }
  } catch (e) {
    record.status = "failed";
    record.error = (e as Error).message;
    record.errorKind = e instanceof DubError ? e.kind : "step";
    if (e instanceof DubError && e.hint) record.hint = e.hint;
    opts.onClipError?.(clip, e);
  } finally {
    await writeJsonAtomic(statePath(opts.store.root, wf, clip), state).catch(() => {});
  }
  record.durationS = (performance.now() - t0) / 1000;
  emit({
    type: "clip_end",
    clip,
    status: record.status,
    durationS: record.durationS,
    ...(record.error ? { error: record.error } : {}),
  });
  return record;
}

async function executeStep(
  wf: LoadedWorkflow,
  rs: ResolvedStep,
  // deno-lint-ignore no-explicit-any
  stage: import("./stage.ts").StageDef<any>,
  clip: string,
  opts: RunOptions & { store: CacheStore; onEvent: (e: RunEvent) => void; splats: SplatPool },
  srec: StepRecord,
  replace: boolean,
): Promise<CacheEntry> {
  const emit = opts.onEvent;
  const staging = await opts.store.begin(rs.key);
  const tmpDir = await Deno.makeTempDir({ prefix: `dub-${rs.id}-` });
  const ts = performance.now();
  let lastEmit = 0;
  const files: Record<string, string> = {};
  const report = createStepReport(staging.dir, stage.outputs);
  const ctx: StageContext = {
    report: report.api,
    stepId: rs.id,
    splat: (choice = "auto") => opts.splats.get(choice),
    checkpointDir: join(opts.store.root, "checkpoints", rs.key),
    outDir: staging.dir,
    tmpDir,
    media: opts.media,
    signal: opts.signal ?? new AbortController().signal,
    output(name: string): string {
      const spec = stage.outputs[name];
      if (!spec || spec.kind !== "file") {
        throw new RangeError(`Step type "${stage.type}" declares no file output "${name}"`);
      }
      files[name] = `${name}${spec.ext.startsWith(".") ? spec.ext : `.${spec.ext}`}`;
      return join(staging.dir, files[name]!);
    },
    progress(done: number, total?: number, unit?: string) {
      const now = performance.now();
      if (now - lastEmit < 100 && done !== total) return;
      lastEmit = now;
      const el = (now - ts) / 1000;
      emit({
        type: "step_progress",
        clip,
        step: rs.id,
        done,
        ...(total !== undefined ? { total } : {}),
        ...(unit !== undefined ? { unit } : {}),
        ...(el > 0 ? { ratePerS: done / el } : {}),
      });
    },
    log(message: string) {
      emit({ type: "step_log", clip, step: rs.id, level: "info", message });
    },
    warn(message: string) {
      srec.warnings.push(message);
      emit({ type: "step_log", clip, step: rs.id, level: "warn", message });
    },
  };
  try {
    const result = await stage.run(ctx, rs.params);
    for (const [name, f] of Object.entries(files)) {
      try {
        await Deno.stat(join(staging.dir, f));
      } catch {
        delete files[name];
      }
    }
    Object.assign(files, await report.finish(files));
    await Deno.remove(join(opts.store.root, "checkpoints", rs.key), { recursive: true }).catch(
      () => {},
    );
    return await opts.store.commit(
      staging,
      {
        stepType: stage.type,
        stepVersion: stage.version,
        durationS: (performance.now() - ts) / 1000,
        values: result.values ?? {},
        warnings: srec.warnings,
      },
      files,
      { replace },
    );
  } catch (e) {
    await opts.store.discard(staging);
    if (e instanceof DubError) throw e;
    if (opts.signal?.aborted) throw new DubError("interrupted", "Interrupted", { cause: e });
    const p = wf.locate(["steps", wf.file.steps.findIndex((s) => s.id === rs.id), "uses"]);
    throw new DubError("step", `Step "${rs.id}" (${stage.type}) failed: ${(e as Error).message}`, {
      cause: e,
      hint: `see ${wf.path}:${p.line}:${p.col}; run with --verbose for details`,
    });
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
}

/**
 * Copy a clip's cached outputs to their destinations, all or none, each atomically;
 * refuse any destination that is a file the run read (checked again here because
 * step outputs are only known now).
 */
async function publishOutputs(
  outs: { name: string; src: string; dest: string }[],
  reads: { path: string; role: string }[],
  cacheDir: string,
  signal?: AbortSignal,
): Promise<void> {
  const problems = await writeConflicts(
    reads,
    outs.map((o) => ({ path: o.dest, role: `output "${o.name}"`, from: "workflow" as const })),
    cacheDir,
  );
  if (problems.length) {
    throw new DubError("workflow", problems.join("\n"), {
      hint: "choose output paths that differ from the files the run reads",
    });
  }
  try {
    await publishFiles(outs.map((o) => ({ src: o.src, dest: o.dest })), { mkdir: true, signal });
  } catch (e) {
    if (signal?.aborted) throw new DubError("interrupted", "Interrupted", { cause: e });
    const dest = (e as { dest?: string }).dest ?? outs[0]?.dest ?? "";
    throw new DubError(
      "step",
      `Cannot write output "${dest}": ${
        describeWriteError(e, dirname(dest))
      }; no output of this clip was written`,
      { cause: e, hint: writeHint(e, "outputs") },
    );
  }
}

/** Destination of a workflow output for one clip job. */
export function outputPath(wf: LoadedWorkflow, template: string, job: ClipJob): string {
  const clip = job.name.replace(/[/\\]/g, "_");
  return resolve(wf.dir, template.replaceAll("{stem}", job.stem).replaceAll("{clip}", clip));
}

/** In a batch, two clips writing the same output path (a.mp4 and a.mov → {stem}) is an error for the later ones. */
function markDuplicateOutputs(wf: LoadedWorkflow, jobs: ClipJob[]): void {
  const seen = new Map<string, string>();
  for (const job of jobs) {
    for (const o of Object.values(wf.file.outputs)) {
      const dest = outputPath(wf, o.path, job);
      const first = seen.get(dest);
      if (first !== undefined && first !== job.name) {
        job.error ??=
          `Clips "${first}" and "${job.name}" would both write "${dest}"; rename one of them or put {clip} in the output path`;
      } else seen.set(dest, job.name);
    }
  }
}
