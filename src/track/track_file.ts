/**
 * The face-track file written by the `face.track` step: one `.safetensors` file.
 *
 * Tensors (T = number of decoded frames, in frame order, row 0 = source frame
 * `clip.firstFrameIndex`; C = articulation channels):
 *
 * | name          | dtype | shape        | meaning |
 * |---------------|-------|--------------|---------|
 * | found         | U8    | [T]          | 1 when the speaker's face was tracked in this frame |
 * | status        | U8    | [T]          | 0 ok, 1 no face, 2 low confidence (occluded, turned away), 3 speaker not among the faces |
 * | scene_cut     | U8    | [T]          | 1 when the frame starts a new shot (tracking re-initialised) |
 * | face_count    | U8    | [T]          | faces the detector reported |
 * | confidence    | F32   | [T]          | FaceMesh score × clamp(1.5 − fit error / limit): 0.5 at the rejection limit, 0 without a face |
 * | fit_error_cm  | F32   | [T]          | RMS residual of the rigid fit over the core rigid landmarks (cm; the quality gate) |
 * | box           | F32   | [T, 4]       | face box x, y, w, h (pixels) |
 * | landmarks     | F32   | [T, 468, 3]  | smoothed landmarks: x, y image pixels (pixel centres at +0.5), z pixels, relative, + away from the camera |
 * | rotation      | F32   | [T, 3, 3]    | R, row-major, canonical → image axes |
 * | translation   | F32   | [T, 3]       | T in pixels |
 * | scale         | F32   | [T]          | s in pixels per canonical cm |
 * | euler         | F32   | [T, 3]       | yaw, pitch, roll in radians (see below) |
 * | expression    | F32   | [T, 468, 3]  | head-space mesh minus the canonical mesh, cm (identity + expression; subtract `neutral_expression` for expression only) |
 * | blink         | F32   | [T, 2]       | eye closure 0 open … 1 closed, [subject's right, subject's left] |
 * | articulation  | F32   | [T, C]       | the articulation channels of `src/articulation/mod.ts`, in that order |
 * | neutral_expression | F32 | [468, 3]  | per-vertex median of `expression` over tracked frames (the speaker's neutral shape) |
 *
 * Frames with `found = 0` hold NaN in every float array except `confidence`,
 * `fit_error_cm` and `box` (which describe what was rejected, NaN when there was no
 * face at all); consumers must leave those frames untouched.
 *
 * Pose: a canonical point X (cm; MediaPipe canonical face mesh, x to the subject's
 * left, y up, z towards the viewer) lands in the image at p = s·R·X + T (x right,
 * y down, z away from the camera). This is the orthographic `OrthoCamera` of
 * `src/splat/types.ts` with `scale = s`, `cx, cy` = any principal point (e.g. the
 * image centre) and `t = (T − (cx, cy, 0)) / s`. A tracked landmark is
 * p_i = s·R·(X_i + expression_i) + T exactly (up to float rounding).
 * Euler angles: H = diag(1, −1, −1)·R = R_y(yaw)·R_x(−pitch)·R_z(roll);
 * yaw > 0 turns the nose towards image right, pitch > 0 tilts it up, roll > 0 tilts
 * the head counter-clockwise in the image.
 *
 * `__metadata__`: `format` = "dub.face_track", `version` = "1", and `clip` = a JSON
 * string of {@link TrackClipInfo}.
 *
 * @module
 */
import { join } from "node:path";
import { ARTICULATION_DIM, ARTICULATION_NAMES } from "../articulation/mod.ts";
import {
  articulationFromGeometry,
  blinkFromGeometry,
  estimateNeutral,
  type FaceGeometry,
  type NeutralGeometry,
  neutralOf,
} from "../articulation/measure.ts";
import { type CanonicalMesh, MESH_VERTEX_COUNT } from "./canonical_mesh.ts";
import { readSafetensors, type Tensor, writeSafetensors } from "../tensor/safetensors.ts";
import type { FrameStatus, FrameTrack } from "./tracker.ts";

export const TRACK_FORMAT = "dub.face_track";
export const TRACK_VERSION = 1;

const STATUS_CODE: Record<FrameStatus, number> = {
  ok: 0,
  no_face: 1,
  low_confidence: 2,
  speaker_lost: 3,
};

/** Per-clip information stored in the `clip` metadata entry. */
export interface TrackClipInfo {
  fps: number;
  width: number;
  height: number;
  frameCount: number;
  /** Source frame index of row 0 (non-zero when tracking started at `start_s`). */
  firstFrameIndex: number;
  foundCount: number;
  /** The speaker rule as given (`largest`, `center`, an index or a box hint). */
  speaker: string | number | number[];
  /** Box of the speaker on the first frame they were found, [x, y, w, h] px, and that frame. */
  speakerFirstBox: number[] | null;
  speakerFirstFrame: number;
  sceneCuts: number[];
  warnings: string[];
  articulationChannels: string[];
  /** The neutral geometry articulation and blink were measured against. */
  neutral: NeutralGeometry;
}

/** Streams frame tracks to a face-track file; memory stays O(1) in the big arrays. */
export class TrackWriter {
  readonly #path: string;
  readonly #tmpDir: string;
  readonly #mesh: CanonicalMesh;
  readonly #files: Map<string, Deno.FsFile>;
  #count = 0;
  #firstIndex = 0;
  #found = 0;
  // Small per-frame arrays (tens of bytes per frame).
  #small = {
    found: [] as number[],
    status: [] as number[],
    sceneCut: [] as number[],
    faceCount: [] as number[],
    confidence: [] as number[],
    fitError: [] as number[],
    box: [] as number[],
    rotation: [] as number[],
    translation: [] as number[],
    scale: [] as number[],
    euler: [] as number[],
  };
  #geometry: (FaceGeometry | null)[] = [];
  #firstBox: number[] | null = null;
  #firstFrame = -1;
  #cuts: number[] = [];
  // Running per-vertex histogram-free median estimate of expression: we keep a
  // reservoir of up to 256 frames (bounded memory).
  #reservoir: Float32Array[] = [];
  #seen = 0;

  private constructor(
    path: string,
    tmpDir: string,
    mesh: CanonicalMesh,
    files: Map<string, Deno.FsFile>,
  ) {
    this.#path = path;
    this.#tmpDir = tmpDir;
    this.#mesh = mesh;
    this.#files = files;
  }

  /** Start a track file at `path`; large arrays are staged in `tmpDir`. */
  static async create(path: string, tmpDir: string, mesh: CanonicalMesh): Promise<TrackWriter> {
    await Deno.mkdir(tmpDir, { recursive: true });
    const files = new Map<string, Deno.FsFile>();
    for (const name of ["landmarks", "expression"]) {
      files.set(
        name,
        await Deno.open(join(tmpDir, `${name}.f32`), { write: true, create: true, truncate: true }),
      );
    }
    return new TrackWriter(path, tmpDir, mesh, files);
  }

  /** Append the next frame. */
  async add(ft: FrameTrack): Promise<void> {
    const s = this.#small;
    const nan3 = [NaN, NaN, NaN];
    if (this.#count === 0) this.#firstIndex = ft.index;
    s.found.push(ft.found ? 1 : 0);
    s.status.push(STATUS_CODE[ft.status]);
    s.sceneCut.push(ft.sceneCut ? 1 : 0);
    s.faceCount.push(Math.min(255, ft.faceCount));
    s.confidence.push(ft.confidence);
    s.fitError.push(ft.fitErrorCm);
    s.box.push(...(ft.box ?? [NaN, NaN, NaN, NaN]));
    if (ft.sceneCut) this.#cuts.push(ft.index);
    const big = new Float32Array(MESH_VERTEX_COUNT * 3);
    if (ft.found && ft.pose && ft.euler && ft.landmarks && ft.expression) {
      this.#found++;
      if (!this.#firstBox && ft.box) {
        this.#firstBox = [...ft.box];
        this.#firstFrame = ft.index;
      }
      s.rotation.push(...ft.pose.rotation);
      s.translation.push(...ft.pose.translation);
      s.scale.push(ft.pose.scale);
      s.euler.push(ft.euler.yaw, ft.euler.pitch, ft.euler.roll);
      await writeF32(this.#files.get("landmarks")!, ft.landmarks);
      await writeF32(this.#files.get("expression")!, ft.expression);
      this.#sampleExpression(ft.expression);
    } else {
      s.rotation.push(...nan3, ...nan3, ...nan3);
      s.translation.push(...nan3);
      s.scale.push(NaN);
      s.euler.push(...nan3);
      big.fill(NaN);
      await writeF32(this.#files.get("landmarks")!, big);
      await writeF32(this.#files.get("expression")!, big);
    }
    this.#geometry.push(ft.found ? ft.geometry : null);
    this.#count++;
  }

  #sampleExpression(e: Float32Array): void {
    this.#seen++;
    if (this.#reservoir.length < 256) this.#reservoir.push(Float32Array.from(e));
    else {
      // Deterministic reservoir replacement (no RNG: same input, same file).
      const j = Math.floor(((this.#seen * 0.6180339887498949) % 1) * this.#seen);
      if (j < 256) this.#reservoir[j] = Float32Array.from(e);
    }
  }

  /** Finish: compute blink/articulation against the clip's neutral and write the file. */
  async close(
    info: {
      fps: number;
      width: number;
      height: number;
      speaker: string | number | number[];
      warnings: string[];
    },
  ): Promise<TrackClipInfo> {
    for (const f of this.#files.values()) f.close();
    const T = this.#count;
    const geoms = this.#geometry.filter((g): g is FaceGeometry => g !== null);
    const neutral = estimateNeutral(geoms, neutralOf(this.#mesh.vertices));
    const blink = new Float32Array(T * 2).fill(NaN);
    const artic = new Float32Array(T * ARTICULATION_DIM).fill(NaN);
    this.#geometry.forEach((g, t) => {
      if (!g) return;
      blink.set(blinkFromGeometry(g, neutral), t * 2);
      artic.set(articulationFromGeometry(g, neutral), t * ARTICULATION_DIM);
    });
    const neutralExpr = new Float32Array(MESH_VERTEX_COUNT * 3).fill(NaN);
    if (this.#reservoir.length > 0) {
      const col = new Float32Array(this.#reservoir.length);
      for (let k = 0; k < neutralExpr.length; k++) {
        this.#reservoir.forEach((r, i) => (col[i] = r[k]!));
        col.sort();
        neutralExpr[k] = col[col.length >> 1]!;
      }
    }
    const clip: TrackClipInfo = {
      fps: info.fps,
      width: info.width,
      height: info.height,
      frameCount: T,
      firstFrameIndex: this.#firstIndex,
      foundCount: this.#found,
      speaker: info.speaker,
      speakerFirstBox: this.#firstBox,
      speakerFirstFrame: this.#firstFrame,
      sceneCuts: this.#cuts,
      warnings: info.warnings,
      articulationChannels: [...ARTICULATION_NAMES],
      neutral,
    };
    const s = this.#small;
    const f32 = (a: number[] | Float32Array) => new Uint8Array(Float32Array.from(a).buffer);
    const u8 = (a: number[]) => Uint8Array.from(a);
    await writeSafetensors(this.#path, [
      { name: "found", dtype: "U8", shape: [T], data: u8(s.found) },
      { name: "status", dtype: "U8", shape: [T], data: u8(s.status) },
      { name: "scene_cut", dtype: "U8", shape: [T], data: u8(s.sceneCut) },
      { name: "face_count", dtype: "U8", shape: [T], data: u8(s.faceCount) },
      { name: "confidence", dtype: "F32", shape: [T], data: f32(s.confidence) },
      { name: "fit_error_cm", dtype: "F32", shape: [T], data: f32(s.fitError) },
      { name: "box", dtype: "F32", shape: [T, 4], data: f32(s.box) },
      {
        name: "landmarks",
        dtype: "F32",
        shape: [T, MESH_VERTEX_COUNT, 3],
        data: { path: join(this.#tmpDir, "landmarks.f32") },
      },
      { name: "rotation", dtype: "F32", shape: [T, 3, 3], data: f32(s.rotation) },
      { name: "translation", dtype: "F32", shape: [T, 3], data: f32(s.translation) },
      { name: "scale", dtype: "F32", shape: [T], data: f32(s.scale) },
      { name: "euler", dtype: "F32", shape: [T, 3], data: f32(s.euler) },
      {
        name: "expression",
        dtype: "F32",
        shape: [T, MESH_VERTEX_COUNT, 3],
        data: { path: join(this.#tmpDir, "expression.f32") },
      },
      { name: "blink", dtype: "F32", shape: [T, 2], data: f32(blink) },
      { name: "articulation", dtype: "F32", shape: [T, ARTICULATION_DIM], data: f32(artic) },
      {
        name: "neutral_expression",
        dtype: "F32",
        shape: [MESH_VERTEX_COUNT, 3],
        data: f32(neutralExpr),
      },
    ], { format: TRACK_FORMAT, version: String(TRACK_VERSION), clip: JSON.stringify(clip) });
    for (const name of this.#files.keys()) {
      await Deno.remove(join(this.#tmpDir, `${name}.f32`)).catch(() => {});
    }
    return clip;
  }

  /** Discard the staged data (the output file is not written). */
  async abort(): Promise<void> {
    for (const f of this.#files.values()) {
      try {
        f.close();
      } catch {
        // already closed
      }
    }
    for (const name of this.#files.keys()) {
      await Deno.remove(join(this.#tmpDir, `${name}.f32`)).catch(() => {});
    }
  }
}

async function writeF32(file: Deno.FsFile, a: Float32Array): Promise<void> {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let o = 0;
  while (o < bytes.length) o += await file.write(bytes.subarray(o));
}

/** A face-track file as read back. */
export interface FaceTrackFile {
  clip: TrackClipInfo;
  tensors: Map<string, Tensor>;
  /** Convenience: a float tensor's data by name (throws if missing). */
  f32(name: string): Float32Array;
  /** Convenience: a U8 tensor's data by name (throws if missing). */
  u8(name: string): Uint8Array;
}

/** Read a face-track file written by {@link TrackWriter}. */
export async function readTrack(path: string): Promise<FaceTrackFile> {
  const { tensors, metadata } = await readSafetensors(path);
  if (metadata.format !== TRACK_FORMAT) {
    throw new Error(
      `Cannot read "${path}": not a face-track file (format "${metadata.format}"); pass a face.track output`,
    );
  }
  if (Number(metadata.version) !== TRACK_VERSION) {
    throw new Error(
      `Cannot read "${path}": face-track version ${metadata.version}, expected ${TRACK_VERSION}; re-run face.track`,
    );
  }
  const clip = JSON.parse(metadata.clip ?? "{}") as TrackClipInfo;
  const get = (name: string, dtype: string) => {
    const t = tensors.get(name);
    if (!t || t.dtype !== dtype) {
      throw new Error(
        `Cannot read "${path}": missing ${dtype} tensor "${name}"; re-run face.track`,
      );
    }
    return t.data;
  };
  return {
    clip,
    tensors,
    f32: (name) => get(name, "F32") as Float32Array,
    u8: (name) => get(name, "U8") as Uint8Array,
  };
}
