/**
 * `adaptSpeaker()`: the whole of `speaker.adapt` as one library call (the stage,
 * the evaluation and the benchmark run exactly this): read the face track, pick
 * training views across the articulation range of the chosen row range, load
 * face crops, initialise (or resume from a checkpoint), adapt, fit the speaker's
 * mouth map on the same rows, and return the model with its loss curve.
 *
 * @module
 */
import { join } from "node:path";
import type { MediaBackend } from "../media/types.ts";
import type { SplatBackend } from "../splat/types.ts";
import { readTrack } from "../track/track_file.ts";
import {
  type AdaptOptions,
  type AdaptState,
  initAdaptation,
  runAdaptation,
  stateToModel,
} from "./adapt.ts";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import type { SpeakerModel } from "./model.ts";
import { fitMouthMap, mouthMapToTensors } from "./mouth_map.ts";
import { canonicalMesh } from "./render.ts";
import { type AdaptView, loadViews, selectFrames, usableRows } from "./views.ts";

export interface AdaptSpeakerOptions extends Omit<AdaptOptions, "onStep" | "onDensify" | "signal"> {
  video: string;
  track: string;
  /** Fraction of the track's rows to adapt on, [start, end) (default [0, 1]). */
  range?: [number, number];
  /** Training views (default 48). */
  views?: number;
  /** Folder for checkpoints (resume after a kill); none without it. */
  checkpointDir?: string;
  /** Write a checkpoint every this many iterations (default 100). */
  checkpointEvery?: number;
  onStep?: (iteration: number, total: number, loss: number) => void;
  log?: (message: string) => void;
  signal?: AbortSignal;
}

export interface AdaptSpeakerResult {
  model: SpeakerModel;
  losses: number[];
  /** Training views used (for the contact sheet). */
  views: AdaptView[];
  /** Iteration the run resumed at (0 = fresh start). */
  resumedAt: number;
  seconds: number;
}

/** Adapts a speaker model on footage + its face track (see the module doc). */
export async function adaptSpeaker(
  media: MediaBackend,
  backend: SplatBackend,
  opts: AdaptSpeakerOptions,
): Promise<AdaptSpeakerResult> {
  const log = opts.log ?? (() => {});
  const track = await readTrack(opts.track);
  const T = track.u8("found").length;
  const [a, b] = opts.range ?? [0, 1];
  if (!(a >= 0 && b <= 1 && a < b)) {
    throw new RangeError(`Adaptation range must satisfy 0 ≤ start < end ≤ 1, got [${a}, ${b}]`);
  }
  const from = Math.floor(a * T), to = Math.ceil(b * T);
  const rows = usableRows(track, from, to);
  if (rows.length === 0) {
    throw new Error(
      `Cannot adapt on "${opts.video}": no frame with a usable face in track rows ${from}…${
        to - 1
      } of "${opts.track}"; pass footage where the speaker's face is visible`,
    );
  }
  const chosen = selectFrames(track, rows, opts.views ?? 48);
  log(`Adapting on ${chosen.length} of ${rows.length} usable frames (rows ${from}…${to - 1})`);
  const mesh = await canonicalMesh();
  const views = await loadViews(media, opts.video, track, mesh, chosen, opts.signal);
  const neutral = track.f32("neutral_expression");
  const fingerprint = JSON.stringify({
    rows: chosen,
    size: [track.clip.width, track.clip.height],
    seed: opts.seed,
    gaussians: opts.gaussians ?? null,
    lr: opts.lr ?? null,
    densify: opts.densify ?? null,
    poseRefine: opts.poseRefine ?? null,
    offsetLrDecay: opts.offsetLrDecay ?? null,
    pruneOutside: opts.pruneOutside ?? null,
    ...(opts.silhouette !== undefined ? { silhouette: opts.silhouette } : {}),
    iterations: opts.iterations,
    ...(opts.color === "mlp" ? { color: "mlp", colorLr: opts.colorLr ?? null } : {}),
  });
  const ckpt = opts.checkpointDir ? join(opts.checkpointDir, "adapt.ckpt.safetensors") : undefined;
  let state: AdaptState | undefined;
  if (ckpt) {
    state = await readCheckpoint(ckpt, fingerprint);
    if (state) log(`Resuming from a checkpoint at iteration ${state.iteration}`);
  }
  const resumedAt = state?.iteration ?? 0;
  state ??= await initAdaptation(views, mesh, neutral, opts);
  log(`${state.gaussians.count} Gaussians on ${backend.name}`);
  const save = ckpt
    ? async (s: AdaptState) => {
      await Deno.mkdir(opts.checkpointDir!, { recursive: true });
      await writeCheckpoint(ckpt, s, fingerprint);
    }
    : undefined;
  let seconds: number;
  try {
    ({ seconds } = await runAdaptation(backend, views, state, {
      ...opts,
      ...(save ? { onCheckpoint: save, checkpointEvery: opts.checkpointEvery ?? 100 } : {}),
      onDensify: (it, c, n) =>
        log(`Iteration ${it}: cloned ${c.cloned}, split ${c.split}, pruned ${c.pruned} → ${n}`),
    }));
  } catch (e) {
    // Interrupted: keep what was done so the next run resumes here.
    if (save && state.iteration > resumedAt) await save(state).catch(() => {});
    throw e;
  }
  const model = stateToModel(state, neutral, {
    source: opts.video,
    width: track.clip.width,
    height: track.clip.height,
    fps: track.clip.fps,
    frames: chosen,
    range: [a, b],
    backend: backend.name,
    seed: opts.seed,
    gaussians: state.gaussians.count,
  });
  // The speaker's mouth map (B's), fitted on the same rows' tracking.
  try {
    const map = fitMouthMap(
      {
        expression: track.f32("expression"),
        articulation: track.f32("articulation"),
        found: track.u8("found"),
      },
      { canonical: mesh.vertices, frames: rows },
    );
    for (const [name, t] of Object.entries(mouthMapToTensors(map))) model.extra.set(name, t);
  } catch (e) {
    log(`No mouth map: ${(e as Error).message}`);
  }
  return { model, losses: state.losses, views, resumedAt, seconds };
}
