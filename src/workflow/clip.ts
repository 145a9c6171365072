/**
 * One clip's run: its steps in DAG order, each resolved to a step job, looked up
 * in the cache or executed, then the clip's outputs published all or none. A
 * pure function of (workflow, the clip's inputs, the cache); the unit both the
 * local executor and a queue worker run.
 *
 * @module
 */
import { dirname } from "node:path";
import { publishFiles } from "../atomic.ts";
import { DubError } from "../errors.ts";
import type { MediaBackend } from "../media/types.ts";
import { isReportFile, REPORT_DATA_KEY } from "../report/collect.ts";
import { type CacheEntry, type CacheStore, outputRefs } from "./cache.ts";
import type { ClipRecord, RunEvent, StepRecord } from "./events.ts";
import { executeStep, SplatPool } from "./execute.ts";
import { describeWriteError, readFilesOf, writeConflicts, writeHint } from "./guard.ts";
import { type ClipJob, outputPath } from "./jobs.ts";
import type { LoadedWorkflow } from "./load.ts";
import type { RunRecords } from "./records.ts";
import { resolveStep, type Results } from "./resolve.ts";

/** What a clip runs with. */
export interface ClipEnv {
  store: CacheStore;
  records: RunRecords;
  media: MediaBackend;
  splats: SplatPool;
  onEvent: (e: RunEvent) => void;
  /** Steps being computed right now by other clips of this process (shared, not repeated). */
  inflight: Map<string, Promise<CacheEntry>>;
  /** Re-run every step (true) or the named step. */
  force?: boolean | string;
  signal?: AbortSignal;
  /** Called with the error object of a failed clip (for `--verbose` cause chains). */
  onClipError?: (clip: string, error: unknown) => void;
}

export async function runClip(
  wf: LoadedWorkflow,
  job: ClipJob,
  opts: ClipEnv,
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
  const state = await opts.records.readState(wf.path, clip);
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
      const stage = wf.registry.find(step.uses)!;
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
        refs: {},
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
        const where = wf.locate(["steps", index, "uses"]);
        const running = executeStep(rs, {
          stage,
          store: opts.store,
          media: opts.media,
          splats: opts.splats,
          clip,
          emit,
          ...(opts.signal ? { signal: opts.signal } : {}),
          replace: force,
          warnings: srec.warnings,
          where: `${wf.path}:${where.line}:${where.col}`,
        });
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
      srec.refs = Object.fromEntries(
        Object.entries(outputRefs(entry.manifest)).filter(([k]) => !isReportFile(k)),
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
    await opts.records.writeState(wf.path, clip, state).catch(() => {});
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

/**
 * Run one clip job against a cache: the unit a queue worker executes. Clips
 * running at once in one process share in-flight steps like a local batch.
 */
export function runClipJob(
  wf: LoadedWorkflow,
  job: ClipJob,
  opts: Omit<ClipEnv, "inflight" | "splats" | "onEvent"> & { onEvent?: (e: RunEvent) => void },
): Promise<ClipRecord> {
  return runClip(wf, job, {
    ...opts,
    onEvent: opts.onEvent ?? (() => {}),
    inflight,
    splats: processSplats,
  });
}
const inflight = new Map<string, Promise<CacheEntry>>();
/** A long-running worker keeps one splat backend per choice for all its clips. */
const processSplats = new SplatPool();

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
