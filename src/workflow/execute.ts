/**
 * Step execution: one {@link StepJob} run by its step type into a staging
 * folder and committed to the cache store. Knows nothing of workflows, clips'
 * other steps or queues.
 *
 * @module
 */
import { join } from "node:path";
import { DubError } from "../errors.ts";
import type { MediaBackend } from "../media/types.ts";
import { createStepReport } from "../report/collect.ts";
import type { SelectedBackend } from "../splat/mod.ts";
import type { CacheEntry, CacheStore } from "./cache.ts";
import type { RunEvent } from "./events.ts";
import type { StepJob } from "./resolve.ts";
import type { StageContext, StageDef } from "./stage.ts";

/** One splat backend per choice for a whole run (created lazily, disposed at the end). */
export class SplatPool implements Disposable {
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

/** What {@link executeStep} runs with: the step type, the store, media, and where events go. */
export interface StepEnv {
  // deno-lint-ignore no-explicit-any
  stage: StageDef<any>;
  store: CacheStore;
  media: MediaBackend;
  splats: SplatPool;
  /** The clip this step runs for (events name it). */
  clip: string;
  emit: (e: RunEvent) => void;
  signal?: AbortSignal;
  /** Replace an existing cache entry (`--force`). */
  replace?: boolean;
  /** Warnings the step raises are appended here (and kept in its cache entry). */
  warnings: string[];
  /** Where the step is written (`file:line:col`), for the hint of a failure. */
  where?: string;
}

/**
 * Run one step job and commit its outputs to the store: the stage writes into a
 * staging folder, which becomes a cache entry only when the stage succeeded.
 * Needs no workflow: everything is in the job and the environment.
 */
export async function executeStep(job: StepJob, env: StepEnv): Promise<CacheEntry> {
  const { stage, clip } = env;
  const rs = job;
  const opts = { ...env, onEvent: env.emit };
  const srec = { warnings: env.warnings };
  const replace = env.replace ?? false;
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
    throw new DubError("step", `Step "${rs.id}" (${stage.type}) failed: ${(e as Error).message}`, {
      cause: e,
      hint: `${env.where ? `see ${env.where}; ` : ""}run with --verbose for details`,
    });
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
}
