/**
 * What travels through the queue: one clip job = the workflow's text (so every
 * worker runs exactly what was submitted), its path (relative paths resolve
 * against its folder on the shared filesystem), the `--set` overrides and the
 * clip's resolved inputs. Job ids derive from content, so re-submitting the same
 * batch finds the same jobs instead of adding new ones.
 *
 * @module
 */
import { z } from "zod";
import { hashFile, hashJson } from "../workflow/cache.ts";
import { stageCodeHash } from "../workflow/code_hash.ts";
import type { LoadedWorkflow } from "../workflow/load.ts";
import type { ClipJob, ClipRecord } from "../workflow/run.ts";

/** Name of the BullMQ queue clip jobs go through. */
export const QUEUE_NAME = "dub-clips";
/** Redis key prefix of batch records (`dub status`). */
export const BATCH_PREFIX = "dub:batch:";
/** How long finished jobs and batch records stay in Redis (dedup window, `dub status`). */
export const KEEP_S = 7 * 24 * 3600;

export const JOB_DATA_VERSION = 1;

/** The payload of a queue job (validated by the worker before use). */
export const ClipJobData = z.object({
  v: z.literal(JOB_DATA_VERSION),
  batchId: z.string(),
  workflow: z.object({ path: z.string(), text: z.string(), sets: z.array(z.string()) }),
  clip: z.object({
    name: z.string(),
    stem: z.string(),
    inputs: z.record(z.string(), z.unknown()),
    error: z.string().optional(),
    errorKind: z.enum(["input", "workflow"]).optional(),
  }),
  force: z.union([z.boolean(), z.string()]).optional(),
});
export type ClipJobData = z.infer<typeof ClipJobData>;

/** What a batch record in Redis holds. */
export interface BatchRecord {
  batchId: string;
  workflow: string;
  submittedAt: string;
  clips: { clip: string; jobId: string }[];
}

/** A progress message from a worker: a run event, or the final record of a failed attempt. */
export type JobMessage =
  | { kind: "event"; event: import("../workflow/run.ts").RunEvent }
  | { kind: "record"; record: ClipRecord };

/** Names of the workflow's file inputs. */
export function fileInputs(wf: LoadedWorkflow): string[] {
  return Object.entries(wf.file.inputs)
    .filter(([, d]) => typeof d === "object" && d.type === "file").map(([k]) => k);
}

/**
 * The job id of a clip: sha256 over the workflow text and overrides, the clip's
 * name and stem, its input values with file inputs replaced by their content
 * hashes, the code of the step types it uses (as in their cache keys: a batch
 * re-submitted after `dub` changed is new work, not the old jobs' results), and
 * `force` (a forced run is a new job every time via `nonce`).
 */
export async function clipJobId(
  wf: LoadedWorkflow,
  text: string,
  sets: readonly string[],
  clip: ClipJob,
  nonce?: string,
): Promise<string> {
  const files = new Set(fileInputs(wf));
  const inputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(clip.inputs)) {
    if (files.has(k) && typeof v === "string") {
      // Only regular files are hashed (a device or FIFO would never end); the
      // worker refuses those with a clear error.
      const st = await Deno.stat(v).catch(() => null);
      inputs[k] = {
        path: v,
        sha256: st?.isFile ? await hashFile(v).catch(() => "unreadable") : "none",
      };
    } else inputs[k] = v;
  }
  const code: Record<string, string | null> = {};
  for (const step of wf.file.steps) {
    const module = wf.registry.find(step.uses)?.module;
    code[step.uses] = module ? (await stageCodeHash(module))?.hash ?? null : null;
  }
  return hashJson({
    v: JOB_DATA_VERSION,
    code,
    path: wf.path,
    text: hashJson(text),
    sets,
    clip: clip.name,
    stem: clip.stem,
    inputs,
    error: clip.error ?? null,
    nonce: nonce ?? null,
  });
}

/** A batch id: short hash of its job ids (the same batch re-submitted has the same id). */
export function batchIdOf(jobIds: readonly string[]): string {
  return hashJson([...jobIds].sort()).slice(0, 16);
}
