/**
 * Face detection and the 468-point face mesh, from the TF.js graph models that ship
 * in the npm package `@vladmandic/human` (BlazeFace detector + MediaPipe FaceMesh),
 * run on `@tensorflow/tfjs-backend-wasm`, offline (models and wasm from file URLs).
 *
 * We drive Human's own pipeline (`human.detect` on an RGB tensor) rather than the
 * graphs directly: measured on 400×300 frames, its box reuse (next crop from the
 * previous mesh) costs ≈ 9–12 ms/frame against 7.3 ms for the bare FaceMesh graph
 * and 22.5 ms for BlazeFace alone, so running the graphs ourselves would save
 * little. Human truncates mesh coordinates to integers: we run its bundle with that
 * truncation removed ({@link patchHumanSource}), so landmarks are sub-pixel. z is
 * in FaceMesh crop units; the tracker re-estimates the z scale in its pose fit.
 *
 * @module
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { pathToFileURL as toFileUrl } from "node:url";
import type { Frame } from "../media/types.ts";
import { MESH_VERTEX_COUNT } from "./canonical_mesh.ts";

/** One face as the detector reports it. */
export interface RawFace {
  /** [x, y, w, h] in pixels. */
  box: [number, number, number, number];
  /** Detector (BlazeFace) confidence of the box the mesh was run on, 0..1. */
  boxScore: number;
  /** FaceMesh "face present" confidence, 0..1. */
  meshScore: number;
  /** [468, 3]: x, y in image pixels, z in FaceMesh crop units (relative depth, + away). */
  landmarks: Float32Array;
}

export interface DetectorOptions {
  /** Most faces reported per frame (default 4). */
  maxFaces?: number;
  /** Faces whose box or mesh score is below this are dropped (default 0.3). */
  minScore?: number;
  /** Re-run the detector at least every N frames to pick up new faces (default 10). */
  redetectEvery?: number;
  /**
   * Frames whose longer side exceeds this are downscaled (bilinear) before the
   * models run, and results are scaled back (default 960: the mesh model's input
   * is 192 px, so faces of at least 1/5 of the frame lose nothing; on a 1080p clip
   * the CPU time per frame fell from ≈ 230 ms (no downscale) and ≈ 100 ms (1280)
   * to ≈ 35–70 ms with the same rigid-fit residual, 0.255 cm).
   */
  maxInputSide?: number;
  /**
   * Keep the model's sub-pixel landmarks (default true). `false` reproduces Human's
   * stock whole-pixel output (truncated, + 0.5 px), for before/after measurements.
   */
  subpixel?: boolean;
}

/** Detector handle; one per track (it keeps per-video state). */
export interface FaceDetector extends Disposable {
  /**
   * Faces in `frame`. With `redetect` the full-frame detector runs (use after a
   * scene cut or when the face was lost); otherwise boxes are carried over from the
   * previous frame's meshes.
   */
  detect(frame: Frame, redetect: boolean): Promise<RawFace[]>;
}

const ROOT = new URL("../../", import.meta.url);

// deno-lint-ignore no-explicit-any
type Any = any;

let humanModule: Promise<Any> | null = null;
/**
 * Human keeps its carried-over boxes and the FaceMesh model in module state, so
 * detectors in one process share them: calls are serialised, and a detector whose
 * previous call was not the last one forces a fresh detection.
 */
let queue: Promise<unknown> = Promise.resolve();
let lastOwner: symbol | null = null;
/**
 * The one Human instance of the process, created and loaded once. Loading several
 * instances at the same time raced on the shared tfjs wasm backend ("Backend 'wasm'
 * has not yet been initialized") when a batch started many clip jobs at once.
 */
let sharedHuman: Promise<Any> | null = null;
/** How many times the face models were loaded in this process (for tests). */
export let faceModelLoads = 0;

const MODEL_DIR = new URL("node_modules/@vladmandic/human/models/", ROOT);

/**
 * Human's FaceMesh post-processing maps the model's float landmarks (crop pixels)
 * back to the image and then truncates x, y and z to integers. On a small face a
 * jaw motion of 1–2 px is then a staircase (measured on cap12: the tracked chin
 * moved in whole-pixel steps and the re-tracked dub lost jaw correlation). We load
 * the pinned bundle's own text with that one `Math.trunc` removed, so landmarks keep
 * the model's sub-pixel precision. Nothing else of Human changes.
 */
export const HUMAN_TRUNCATING_MESH =
  "return c.map(x=>[Math.trunc(x[0]+y[0]),Math.trunc(x[1]+y[1]),Math.trunc(x[2]||0)])";
const HUMAN_FLOAT_MESH = "return c.map(x=>[x[0]+y[0],x[1]+y[1],x[2]||0])";

/** The bundle's text with float mesh output; throws when the pinned pattern is not there exactly once. */
export function patchHumanSource(source: string, path: string): string {
  const at = source.indexOf(HUMAN_TRUNCATING_MESH);
  if (at < 0 || source.indexOf(HUMAN_TRUNCATING_MESH, at + 1) >= 0) {
    throw new Error(
      `Cannot patch "${path}" for sub-pixel landmarks: its FaceMesh transform is not the one of @vladmandic/human 3.3.6; pin that version in deno.json or update HUMAN_TRUNCATING_MESH in src/track/detector.ts`,
    );
  }
  return source.slice(0, at) + HUMAN_FLOAT_MESH +
    source.slice(at + HUMAN_TRUNCATING_MESH.length);
}

function loadHumanModule(): Promise<Any> {
  humanModule ??= (async () => {
    const file = new URL("node_modules/@vladmandic/human/dist/human.node-wasm.js", ROOT);
    let source: string, real: string;
    try {
      source = await Deno.readTextFile(file);
      real = await Deno.realPath(file);
    } catch (e) {
      throw new Error(
        `Cannot load @vladmandic/human from node_modules: ${
          (e as Error).message
        }; run \`deno install\` in the repository`,
      );
    }
    // The bundle is CommonJS: run it with a require() rooted at its real path (so its
    // tfjs dependencies resolve as they would for a plain import).
    const require = createRequire(toFileUrl(real));
    const module = { exports: {} as Any };
    new Function(
      "require",
      "module",
      "exports",
      "__filename",
      "__dirname",
      patchHumanSource(source, real),
    )(
      require,
      module,
      module.exports,
      real,
      dirname(real),
    );
    return module.exports;
  })().catch((e: Error) => {
    humanModule = null;
    throw e;
  });
  return humanModule;
}

/** The process's Human instance with its models loaded (created on first use, ≈1 s). */
function loadHuman(): Promise<Any> {
  sharedHuman ??= (async () => {
    const mod = await loadHumanModule();
    const Human = mod.Human ?? mod.default?.Human;
    const human = new Human({
      backend: "wasm",
      wasmPath: new URL("node_modules/@tensorflow/tfjs-backend-wasm/dist/", ROOT).href,
      modelBasePath: MODEL_DIR.href,
      cacheModels: false,
      debug: false,
      async: false,
      warmup: "none",
      // 1 = never invalidate carried-over boxes because the frame changed; we decide
      // when to re-detect (scene cuts, lost face, every `redetectEvery` frames).
      cacheSensitivity: 1,
      face: {
        enabled: true,
        detector: {
          rotation: true,
          // Crop = mesh box × scale. Measured RMS rigid-fit residual on cap12 (square input):
          // 1.4 (Human's default) 0.57 cm, 1.6 0.38, 1.7 0.33, 1.8 0.32, 2.0 0.40.
          scale: 1.8,
          maxDetected: 4,
          skipFrames: 10,
          skipTime: 1e12,
          minConfidence: 0.3,
          return: false,
        },
        mesh: { enabled: true },
        iris: { enabled: false },
        attention: { enabled: false },
        emotion: { enabled: false },
        description: { enabled: false },
        antispoof: { enabled: false },
        liveness: { enabled: false },
      },
      body: { enabled: false },
      hand: { enabled: false },
      object: { enabled: false },
      gesture: { enabled: false },
      segmentation: { enabled: false },
      filter: { enabled: false },
    });
    try {
      faceModelLoads++;
      await human.load();
    } catch (e) {
      const missing = !(await Deno.stat(new URL("facemesh.json", MODEL_DIR)).then(
        () => true,
        () => false,
      ));
      throw new Error(
        `Cannot load the face models from "${MODEL_DIR.pathname}": ${(e as Error).message}${
          missing
            ? "; the model files are missing: run `deno install` in the repository"
            : "; run again with --verbose and report the error if it persists"
        }`,
        { cause: e },
      );
    }
    return human;
  })().catch((e) => {
    sharedHuman = null; // a later call may retry
    throw e;
  });
  return sharedHuman;
}

/** Create a detector (the models are loaded once per process, on first use). */
export async function createFaceDetector(
  opts: DetectorOptions = {},
): Promise<FaceDetector> {
  const maxFaces = opts.maxFaces ?? 4;
  const minScore = opts.minScore ?? 0.3;
  const redetectEvery = opts.redetectEvery ?? 10;
  const maxInputSide = opts.maxInputSide ?? 960;
  const q = opts.subpixel === false ? (v: number) => Math.trunc(v) + 0.5 : (v: number) => v;
  const human = await loadHuman();
  const tf = human.tf;
  let lastSize = "";
  let padded: Uint8Array | null = null; // [side, side, 3]
  const owner = Symbol("detector");
  const detect = async (
    frame: Frame,
    redetect: boolean,
  ): Promise<RawFace[]> => {
    if (frame.data.length !== frame.width * frame.height * 3) {
      throw new RangeError(
        `Frame ${frame.index} has ${frame.data.length} bytes, expected ${frame.width}×${frame.height}×3`,
      );
    }
    const size = `${frame.width}x${frame.height}`;
    const force = redetect || size !== lastSize || lastOwner !== owner;
    lastOwner = owner;
    lastSize = size;
    // The instance is shared: this detector's settings apply to its own (serialised) calls.
    human.config.face.detector.skipFrames = force ? 0 : redetectEvery;
    human.config.face.detector.maxDetected = maxFaces;
    human.config.face.detector.minConfidence = minScore;
    // The detector resizes its input to 256×256: pad the frame to a square (right
    // and bottom, so coordinates are unchanged) so that wide frames are not
    // squeezed. (Human's own \`detector.square\` option misplaces the boxes.)
    const fullSide = Math.max(frame.width, frame.height);
    const side = Math.min(fullSide, maxInputSide);
    const k = side / fullSide; // model pixels per frame pixel
    if (!padded || padded.length !== side * side * 3) padded = new Uint8Array(side * side * 3);
    if (k < 1) downscaleInto(frame, padded, side, k);
    else if (frame.width === side) padded.set(frame.data);
    else {
      const row = frame.width * 3;
      for (let y = 0; y < frame.height; y++) {
        padded.set(frame.data.subarray(y * row, (y + 1) * row), y * side * 3);
      }
    }
    const input = tf.tensor3d(padded, [side, side, 3], "int32");
    let result: Any;
    try {
      result = await human.detect(input);
    } finally {
      input.dispose();
    }
    if (result.error) {
      throw new Error(
        `Face detection failed on frame ${frame.index}: ${result.error}`,
      );
    }
    const faces: RawFace[] = [];
    for (const f of result.face ?? []) {
      const mesh = f.mesh as number[][];
      if (!mesh || mesh.length < MESH_VERTEX_COUNT) continue;
      const landmarks = new Float32Array(MESH_VERTEX_COUNT * 3);
      for (let i = 0; i < MESH_VERTEX_COUNT; i++) {
        const p = mesh[i]!;
        landmarks[i * 3] = q(p[0]!) / k;
        landmarks[i * 3 + 1] = q(p[1]!) / k;
        landmarks[i * 3 + 2] = (opts.subpixel === false ? Math.trunc(p[2] ?? 0) : p[2] ?? 0) / k;
      }
      const b = f.box as number[];
      faces.push({
        box: [b[0]! / k, b[1]! / k, b[2]! / k, b[3]! / k],
        boxScore: f.boxScore ?? 0,
        meshScore: f.faceScore ?? 0,
        landmarks,
      });
    }
    return faces;
  };
  return {
    detect(frame: Frame, redetect: boolean): Promise<RawFace[]> {
      const run = queue.then(() => detect(frame, redetect));
      queue = run.catch(() => undefined);
      return run;
    },
    [Symbol.dispose]() {
      // The models are module-level in Human and shared with other detectors.
      if (lastOwner === owner) lastOwner = null;
    },
  };
}

/**
 * Bilinear downscale of `frame` by `k` (< 1) into the top-left of a square RGB
 * buffer `out` ([side, side, 3]); the rest of `out` stays as it is (zeros).
 */
function downscaleInto(frame: Frame, out: Uint8Array, side: number, k: number): void {
  const w = Math.min(side, Math.round(frame.width * k));
  const h = Math.min(side, Math.round(frame.height * k));
  const src = frame.data, W = frame.width, H = frame.height;
  for (let y = 0; y < h; y++) {
    const sy = Math.min(H - 1, Math.max(0, (y + 0.5) / k - 0.5));
    const y0 = Math.floor(sy), y1 = Math.min(H - 1, y0 + 1), fy = sy - y0;
    for (let x = 0; x < w; x++) {
      const sx = Math.min(W - 1, Math.max(0, (x + 0.5) / k - 0.5));
      const x0 = Math.floor(sx), x1 = Math.min(W - 1, x0 + 1), fx = sx - x0;
      const a = (y0 * W + x0) * 3,
        b = (y0 * W + x1) * 3,
        c = (y1 * W + x0) * 3,
        d = (y1 * W + x1) * 3;
      const o = (y * side + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = src[a + ch]! + (src[b + ch]! - src[a + ch]!) * fx;
        const bot = src[c + ch]! + (src[d + ch]! - src[c + ch]!) * fx;
        out[o + ch] = top + (bot - top) * fy + 0.5;
      }
    }
  }
}
