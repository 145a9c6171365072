/**
 * Driving the speaker's head over a clip (the core of `head.render`): for every
 * decoded footage frame, in order, the head is posed by the footage's own tracked
 * pose, keeps the footage's upper face (brows, blinks), gets its lower face from the
 * driving articulation through the speaker's mouth map (`mouth_map.ts`), and is
 * rendered by the splatter into a crop around the face at native resolution; the
 * crop is placed into a full-frame straight RGBA image, and a change mask is made
 * from the tracked and driven landmarks. Each frame goes to the sink before the
 * next one is decoded, so memory is one frame's worth whatever the clip's length.
 *
 * Frame kinds:
 * - no face (outside the track, or `found` = 0): pass-through;
 * - outside the dialogue (before `startFrame` or after its last row): with
 *   `beyond: "neutral"` (default) the mouth is driven by the neutral articulation
 *   (closed, relaxed: the speaker is silent once the new line has ended); with
 *   `beyond: "footage"` the frame passes through untouched (the footage's own mouth);
 * - otherwise: driven by the dialogue's row `frame − startFrame`.
 *
 * @module
 */
import { ARTICULATION_DIM, neutralArticulation } from "../articulation/mod.ts";
import type { Frame } from "../media/types.ts";
import type { SplatBackend } from "../splat/types.ts";
import { type CropBox, faceCrop } from "./camera.ts";
import type { SpeakerModel } from "./model.ts";
import { driveExpression, type MouthMap } from "./mouth_map.ts";
import { canonicalMesh, type HeadFrame, renderHead } from "./render.ts";
import type { TrackRows } from "./track_rows.ts";

/** One rendered frame for the head.render intermediate (CONTRACTS §4). */
export interface DrivenFrame {
  rgba: Uint8Array; // [H*W*4] straight RGBA, A = coverage
  mask: Uint8Array; // [H*W] 0…255, region whose pixels should change
  trackedLandmarks: Float32Array; // [468*2] image px
  drivenLandmarks: Float32Array; // [468*2] image px
}

/** Where rendered frames go (C's `RenderWriter` satisfies it). One call per footage frame. */
export interface RenderSink {
  write(f: DrivenFrame): Promise<void>;
  writePassThrough(): Promise<void>;
}

/** What to do with footage frames outside the dialogue. */
export type BeyondPolicy = "neutral" | "footage";

export interface DriveOptions {
  backend: SplatBackend;
  model: SpeakerModel;
  map: MouthMap;
  track: TrackRows;
  /** The driving articulation [F*8] at the footage's frame rate. */
  articulation: Float32Array;
  /** Footage frame at which the dialogue's row 0 plays (default 0). */
  startFrame?: number;
  beyond?: BeyondPolicy;
  /** Change mask from tracked and driven landmarks ([468*2] px each). */
  mask: (tracked: Float32Array, driven: Float32Array, width: number, height: number) => Uint8Array;
  /** Crop render → full-frame straight RGBA [H*W*4]. */
  toRgba: (
    rgb: Float32Array,
    alpha: Float32Array,
    width: number,
    height: number,
    crop: CropBox,
  ) => Uint8Array;
  sink: RenderSink;
  /** Optional preview frames: footage | render over the footage inside the mask, [H, 2W, 3]. */
  preview?: { write(rgb: Uint8Array): Promise<void> };
  /** Margin of the render crop around the face, as a share of its size (default 0.15). */
  cropMargin?: number;
  signal?: AbortSignal;
  onFrame?: (done: number) => void;
}

export interface DriveStats {
  frames: number;
  rendered: number;
  /** Frames passed through because no face was tracked there. */
  noFace: number;
  /** Frames outside the dialogue: driven neutral, or passed through with beyond = "footage". */
  beyondDialogue: number;
  /** Wall time spent in renderHead, ms (for the frames/s figure). */
  renderMs: number;
  /** Mean rendered crop size (pixels). */
  meanCropPixels: number;
}

/** Kind of one footage frame (exported for tests and the stage's log). */
export function frameKind(
  frameIndex: number,
  track: { frames: number; found: Uint8Array; clip: { firstFrameIndex: number } },
  dialogueFrames: number,
  startFrame: number,
  beyond: BeyondPolicy,
): { kind: "no_face" | "pass_through" | "driven"; row: number; dialogueRow: number | null } {
  const row = frameIndex - (track.clip.firstFrameIndex ?? 0);
  const d = frameIndex - startFrame;
  const dialogueRow = d >= 0 && d < dialogueFrames ? d : null;
  if (row < 0 || row >= track.frames || track.found[row] !== 1) {
    return { kind: "no_face", row, dialogueRow };
  }
  if (dialogueRow === null && beyond === "footage") {
    return { kind: "pass_through", row, dialogueRow };
  }
  return { kind: "driven", row, dialogueRow };
}

/** Projects canonical + offsets [468*3] through p = s·R·X + T into [468*2] image px. */
export function projectMesh(
  canonical: Float32Array,
  offsets: Float32Array,
  R: ArrayLike<number>, // [9]
  T: ArrayLike<number>, // [3]
  s: number,
  out: Float32Array = new Float32Array(468 * 2),
): Float32Array {
  for (let i = 0; i < 468; i++) {
    const x = canonical[i * 3]! + offsets[i * 3]!;
    const y = canonical[i * 3 + 1]! + offsets[i * 3 + 1]!;
    const z = canonical[i * 3 + 2]! + offsets[i * 3 + 2]!;
    out[i * 2] = s * (R[0]! * x + R[1]! * y + R[2]! * z) + T[0]!;
    out[i * 2 + 1] = s * (R[3]! * x + R[4]! * y + R[5]! * z) + T[1]!;
  }
  return out;
}

/** Streams `frames` through the driven head into `opts.sink` (see the module doc). */
export async function driveClip(
  frames: AsyncIterable<Frame>,
  opts: DriveOptions,
): Promise<DriveStats> {
  const { track, map, model, backend, sink } = opts;
  const startFrame = opts.startFrame ?? 0;
  const beyond = opts.beyond ?? "neutral";
  if (opts.articulation.length % ARTICULATION_DIM !== 0) {
    throw new RangeError(
      `driveClip(): articulation length ${opts.articulation.length} is not a multiple of ${ARTICULATION_DIM}`,
    );
  }
  const F = opts.articulation.length / ARTICULATION_DIM;
  const mesh = await canonicalMesh();
  const neutral = neutralArticulation();
  const expr = new Float32Array(468 * 3);
  const lm3 = new Float32Array(468 * 3);
  const tracked = new Float32Array(468 * 2);
  const stats: DriveStats = {
    frames: 0,
    rendered: 0,
    noFace: 0,
    beyondDialogue: 0,
    renderMs: 0,
    meanCropPixels: 0,
  };
  let index = 0;
  for await (const frame of frames) {
    opts.signal?.throwIfAborted();
    const W = frame.width, H = frame.height;
    const k = frameKind(index, track, F, startFrame, beyond);
    index++;
    stats.frames++;
    if (k.dialogueRow === null && k.kind !== "no_face") stats.beyondDialogue++;
    if (k.kind !== "driven") {
      if (k.kind === "no_face") stats.noFace++;
      await sink.writePassThrough();
      if (opts.preview) await opts.preview.write(sideBySide(frame, null, null));
      opts.onFrame?.(stats.frames);
      continue;
    }
    const r = k.row;
    const a = k.dialogueRow === null ? neutral : opts.articulation.subarray(
      k.dialogueRow * ARTICULATION_DIM,
      (k.dialogueRow + 1) * ARTICULATION_DIM,
    );
    await track.expression(r, expr);
    const driven = driveExpression(map, expr, a);
    const R = track.rotation.subarray(r * 9, r * 9 + 9);
    const T = track.translation.subarray(r * 3, r * 3 + 3);
    const s = track.scale[r]!;
    const drivenXY = projectMesh(mesh.vertices, driven, R, T, s);
    await track.landmarks(r, lm3);
    for (let i = 0; i < 468; i++) {
      tracked[i * 2] = lm3[i * 3]!;
      tracked[i * 2 + 1] = lm3[i * 3 + 1]!;
    }
    const both = new Float32Array(468 * 4);
    both.set(tracked);
    both.set(drivenXY, 468 * 2);
    const crop = faceCrop(both, W, H, opts.cropMargin ?? 0.15);
    const hf: HeadFrame = {
      expression: driven,
      articulation: Float32Array.from(a),
      rotation: Float32Array.from(R),
      translation: Float32Array.from(T),
      scale: s,
    };
    const t0 = performance.now();
    const { rgb, alpha } = await renderHead(backend, model, hf, { width: W, height: H, crop });
    stats.renderMs += performance.now() - t0;
    stats.meanCropPixels += crop.w * crop.h;
    const rgba = opts.toRgba(unpremultiply(rgb, alpha), alpha, W, H, crop);
    const mask = opts.mask(tracked, drivenXY, W, H);
    await sink.write({
      rgba,
      mask,
      trackedLandmarks: Float32Array.from(tracked),
      drivenLandmarks: drivenXY,
    });
    stats.rendered++;
    if (opts.preview) await opts.preview.write(sideBySide(frame, rgba, mask));
    opts.onFrame?.(stats.frames);
  }
  if (stats.rendered > 0) stats.meanCropPixels /= stats.rendered;
  return stats;
}

/**
 * The splatter's colour over a black background is premultiplied (Σ cᵢαᵢTᵢ); the
 * head.render intermediate stores straight colour: rgb / alpha, 0 where the
 * coverage is below 1/255 (nothing drawn). In place; returns `rgb` [h*w*3].
 */
export function unpremultiply(rgb: Float32Array, alpha: Float32Array): Float32Array {
  for (let i = 0; i < alpha.length; i++) {
    const a = alpha[i]!;
    const k = a >= 1 / 255 ? 1 / a : 0;
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.min(1, rgb[i * 3 + c]! * k);
  }
  return rgb;
}

/**
 * Preview frame [H, 2W, 3]: the footage on the left; on the right the render laid
 * over the footage by its coverage inside the change mask (a rough composite — the
 * real blend is `body.inpaint`'s job).
 */
export function sideBySide(
  frame: Frame,
  rgba: Uint8Array | null,
  mask: Uint8Array | null,
): Uint8Array {
  const W = frame.width, H = frame.height;
  const out = new Uint8Array(H * W * 2 * 3);
  const src = frame.data;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = (y * W + x) * 3;
      const l = (y * 2 * W + x) * 3;
      const rr = l + W * 3;
      let a = 0;
      if (rgba && mask) a = (rgba[(y * W + x) * 4 + 3]! / 255) * (mask[y * W + x]! / 255);
      for (let c = 0; c < 3; c++) {
        const f = src[s + c]!;
        out[l + c] = f;
        out[rr + c] = a > 0 ? Math.round(f * (1 - a) + rgba![(y * W + x) * 4 + c]! * a) : f;
      }
    }
  }
  return out;
}
