/**
 * `dub worker`: a long-running process that takes clip jobs from BullMQ and runs
 * them with the ordinary clip runner against a shared cache folder. A killed
 * worker's job is taken up by another (BullMQ's stalled-job check, after the lock
 * expires); `stop()` lets running jobs finish for a grace period, then hands them
 * back to the queue (moved to waiting, not counted as a failed attempt).
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { UnrecoverableError, WaitingError, Worker } from "./_deps.ts";
import type { Job } from "./_deps.ts";
import { DEFAULT_PRIOR_PATH } from "../audio/mod.ts";
import { DubError } from "../errors.ts";
import type { StageRegistry } from "../workflow/registry.ts";
import { parseWorkflow } from "../workflow/load.ts";
import type { LoadedWorkflow } from "../workflow/load.ts";
import { findRefs, interpolate, type Ref, walkStrings } from "../workflow/refs.ts";
import { type ClipJob, type ClipRecord, outputPath, type RunEvent } from "../workflow/run.ts";
import { clipForFile, type ClipRecordFile } from "../workflow/events.ts";
import { ClipJobData, fileInputs, type JobMessage, QUEUE_NAME } from "./job.ts";
import { clipOf, runInChild } from "./child.ts";
import { closeRedis, connectRedis } from "./redis.ts";
import { redactUrl } from "./redis_url.ts";
import { PathRoots } from "./roots.ts";

/** What a worker reports about itself (NDJSON with `dub worker --json`). */
export type WorkerLog =
  | { type: "worker_ready"; queue: string; concurrency: number; roots: string[] }
  | { type: "job_start"; jobId: string; clip: string; attempt: number }
  | {
    type: "job_end";
    jobId: string;
    clip: string;
    /**
     * ok: BullMQ accepted the completion. superseded: the clip ran to the end here, but this
     * worker's lock had lapsed (starved of CPU, or paused) and another worker took the job
     * over; BullMQ refused this completion, the other one counts (same outputs, published
     * atomically from the same cache entries).
     */
    status: "ok" | "failed" | "handed_back" | "superseded";
    durationS: number;
    error?: string;
  }
  | { type: "worker_event"; event: RunEvent }
  /** This worker's stalled check gave a job whose worker stopped renewing its lock back to the queue. */
  | { type: "job_stalled"; jobId: string }
  | { type: "worker_error"; message: string }
  | { type: "worker_stopping"; active: number; graceS: number }
  | { type: "worker_stopped" };

export interface WorkerOptions {
  /** The step types jobs may use (the CLI passes the built-in registry). */
  registry: StageRegistry;
  /** `redis://…` or `rediss://…` (credentials are never logged). */
  url: string;
  concurrency: number;
  /** The shared step cache folder. */
  cacheDir: string;
  /** Folders a job may read inputs from and write outputs to. */
  roots: string[];
  /** The media backend choice the clip processes open ("auto", "native", "wasm"). */
  media: string;
  /** Seconds running jobs may take to finish after `stop()` before they are handed back. */
  graceS: number;
  /** A job's lock lives this long without renewal; a dead worker's job is retaken after it. */
  lockDurationMs?: number;
  /** How often the stalled-job check runs. */
  stalledIntervalMs?: number;
  onLog: (l: WorkerLog) => void;
  /** Forward every run event to `onLog` (for `--verbose`). */
  forwardEvents?: boolean;
}

const failedRecord = (job: ClipJob, e: unknown): ClipRecord => ({
  clip: job.name,
  inputs: job.inputs,
  status: "failed",
  durationS: 0,
  steps: [],
  outputs: {},
  error: (e as Error).message,
  errorKind: e instanceof DubError ? e.kind : "step",
  ...(e instanceof DubError && e.hint ? { hint: e.hint } : {}),
});

/**
 * Every path a job names must lie under the worker's roots: the workflow, file
 * inputs, outputs, models, and file parameters written in the workflow (those
 * that refer to a previous step's output come from the cache). Step file
 * parameters may also point into the cache and the shipped models.
 */
export async function checkJobPaths(
  wf: LoadedWorkflow,
  job: ClipJob,
  io: PathRoots,
  read: PathRoots,
): Promise<void> {
  await io.check(wf.path, "the workflow");
  const files = new Set(fileInputs(wf));
  for (const [k, v] of Object.entries(job.inputs)) {
    if (files.has(k) && typeof v === "string") await io.check(v, `input "${k}"`);
  }
  const modelPaths: Record<string, string> = {};
  for (const [name, m] of Object.entries(wf.file.models)) {
    modelPaths[name] = resolve(wf.dir, typeof m === "string" ? m : m.path);
    await read.check(modelPaths[name]!, `model "${name}"`);
  }
  for (const [name, o] of Object.entries(wf.file.outputs)) {
    await io.check(outputPath(wf, o.path, job), `output "${name}"`);
  }
  for (const step of wf.file.steps) {
    const stage = wf.registry.find(step.uses);
    if (!stage) continue;
    for (const k of stage.fileParams) {
      const v = (step.with as Record<string, unknown>)[k];
      for (const s of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
        if (typeof s !== "string") continue;
        let fromStep = false;
        walkStrings(s, [], (str) => {
          for (const f of findRefs(str)) if (f.ref?.kind === "steps") fromStep = true;
        });
        if (fromStep) continue;
        const value = interpolate(
          s,
          (r: Ref) =>
            r.kind === "inputs"
              ? job.inputs[r.name]
              : r.kind === "models"
              ? modelPaths[r.name]
              : "",
        );
        if (typeof value !== "string" || value === "") continue;
        await read.check(resolve(wf.dir, value), `file "${k}" of step "${step.id}"`);
      }
    }
  }
}

/** A running worker; `done` resolves after `stop()` has closed everything. */
export class DubWorker {
  readonly #opts: WorkerOptions;
  readonly #active = new Map<string, AbortController>();
  /** Jobs whose run ended ok, until BullMQ accepts (completed) or refuses (lost lock) them. */
  readonly #finishing = new Map<string, (status: "ok" | "superseded", error?: string) => void>();
  #stopping = false;
  #worker: Worker | null = null;
  #conn: ReturnType<typeof connectRedis> | null = null;
  #done!: Promise<void>;
  #resolveDone!: () => void;
  readonly #io: PathRoots;
  readonly #read: PathRoots;

  constructor(opts: WorkerOptions) {
    this.#opts = opts;
    this.#io = new PathRoots(opts.roots);
    this.#read = new PathRoots([...opts.roots, opts.cacheDir, dirname(DEFAULT_PRIOR_PATH)]);
    this.#done = new Promise((r) => (this.#resolveDone = r));
  }

  get done(): Promise<void> {
    return this.#done;
  }

  start(): void {
    const o = this.#opts;
    const log = o.onLog;
    this.#conn = connectRedis(o.url, (message) => log({ type: "worker_error", message }));
    this.#worker = new Worker(QUEUE_NAME, (job, token) => this.#process(job, token), {
      connection: this.#conn,
      concurrency: o.concurrency,
      lockDuration: o.lockDurationMs ?? 30_000,
      stalledInterval: o.stalledIntervalMs ?? 30_000,
      // A job whose worker died more than this many times is failed, not retried forever.
      maxStalledCount: 3,
      autorun: true,
    });
    this.#worker.on("completed", (job) => this.#settle(job.id ?? "", "ok"));
    this.#worker.on("stalled", (jobId) => log({ type: "job_stalled", jobId }));
    this.#worker.on("error", (e) => {
      // BullMQ refuses to complete (or fail) a job whose lock this worker no longer holds.
      const lost = /^(?:Missing lock|Lock mismatch) for job (\S+?)\./.exec(e.message);
      if (lost && this.#finishing.has(lost[1]!)) {
        this.#settle(lost[1]!, "superseded", e.message);
        return;
      }
      log({ type: "worker_error", message: e.message });
    });
    log({
      type: "worker_ready",
      queue: redactUrl(o.url),
      concurrency: o.concurrency,
      roots: o.roots,
    });
  }

  /** Stop taking jobs; let running ones finish for `graceS`, then hand them back. */
  async stop(): Promise<void> {
    if (this.#stopping) return await this.#done;
    this.#stopping = true;
    const o = this.#opts;
    o.onLog({ type: "worker_stopping", active: this.#active.size, graceS: o.graceS });
    const timer = setTimeout(() => {
      for (const ac of this.#active.values()) ac.abort(new DubError("interrupted", "Interrupted"));
    }, o.graceS * 1000);
    try {
      await this.#worker?.close();
    } finally {
      clearTimeout(timer);
      if (this.#conn) await closeRedis(this.#conn);
      o.onLog({ type: "worker_stopped" });
      this.#resolveDone();
    }
  }

  #settle(jobId: string, status: "ok" | "superseded", error?: string): void {
    const f = this.#finishing.get(jobId);
    this.#finishing.delete(jobId);
    f?.(status, error);
  }

  async #process(job: Job, token?: string): Promise<ClipRecordFile> {
    const o = this.#opts;
    const t0 = performance.now();
    const id = job.id ?? "?";
    const parsed = ClipJobData.safeParse(job.data);
    if (!parsed.success) {
      o.onLog({
        type: "job_end",
        jobId: id,
        clip: "?",
        status: "failed",
        durationS: 0,
        error: "malformed job",
      });
      throw new UnrecoverableError(`Malformed job ${id}: ${parsed.error.message}`);
    }
    const data = parsed.data;
    const clip = clipOf(data);
    o.onLog({ type: "job_start", jobId: id, clip: clip.name, attempt: job.attemptsMade + 1 });
    // Progress messages are sent in order; all are in Redis before the job completes.
    let sending: Promise<unknown> = Promise.resolve();
    const send = (m: JobMessage) => {
      sending = sending.then(() => job.updateProgress(m as unknown as object)).catch(() => {});
    };
    const end = (status: "ok" | "failed" | "handed_back" | "superseded", error?: string) =>
      o.onLog({
        type: "job_end",
        jobId: id,
        clip: clip.name,
        status,
        durationS: (performance.now() - t0) / 1000,
        ...(error !== undefined ? { error } : {}),
      });
    let record: ClipRecord;
    const ac = new AbortController();
    this.#active.set(id, ac);
    try {
      let wf: LoadedWorkflow;
      try {
        wf = parseWorkflow(data.workflow.path, data.workflow.text, {
          registry: o.registry,
          sets: data.workflow.sets,
        });
        await checkJobPaths(wf, clip, this.#io, this.#read);
      } catch (e) {
        record = failedRecord(clip, e);
        send({ kind: "record", record });
        await sending;
        end("failed", record.error);
        throw new UnrecoverableError(record.error);
      }
      // In a child process: this one's event loop stays free to renew the job's lock.
      record = await runInChild({ job: data, cacheDir: o.cacheDir }, {
        media: o.media,
        signal: ac.signal,
        onEvent: (event) => {
          if (o.forwardEvents) o.onLog({ type: "worker_event", event });
          send({ kind: "event", event });
        },
      });
    } finally {
      this.#active.delete(id);
    }
    await sending;
    if (record.status === "ok") {
      // Logged once BullMQ has accepted (or refused) the completion.
      this.#finishing.set(id, (status, error) => end(status, error));
      // The result names step outputs by {key, name, sha256}, never by this machine's paths.
      return clipForFile(record);
    }
    if (record.errorKind === "interrupted" && this.#stopping && token) {
      // Hand the job back: another worker takes it; this attempt does not count.
      await job.moveToWait(token);
      end("handed_back");
      throw new WaitingError();
    }
    send({ kind: "record", record });
    await sending;
    end("failed", record.error);
    if (record.errorKind === "workflow" || record.errorKind === "usage") {
      throw new UnrecoverableError(record.error);
    }
    throw new Error(record.error ?? "failed");
  }
}
