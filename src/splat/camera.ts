/**
 * Cameras from the reference 3DGS `cameras.json` (written by its training code):
 * an array of `{ id, img_name, width, height, position: [3], rotation: [3][3],
 * fx, fy }` where `rotation` is the camera-to-world rotation (rows) and `position`
 * the camera centre in world space, COLMAP axes (x right, y down, z forward). The
 * principal point is the image centre (the reference has no cx/cy; optional `cx`,
 * `cy` keys are honoured). Converted to a world-to-camera {@link PinholeCamera}:
 * R = rotationᵀ, t = −rotationᵀ·position.
 *
 * @module
 */
import { SplatInputError } from "./errors.ts";
import { readInputFile } from "./ply.ts";
import type { PinholeCamera } from "./types.ts";

const HINT =
  "pass a cameras.json written by 3DGS training (id, img_name, width, height, position, rotation, fx, fy)";

/** One entry of `cameras.json`. */
export interface CameraJson {
  id: number;
  img_name: string;
  width: number;
  height: number;
  position: [number, number, number];
  rotation: [[number, number, number], [number, number, number], [number, number, number]];
  fx: number;
  fy: number;
  cx?: number;
  cy?: number;
}

function fail(name: string, what: string): never {
  throw new SplatInputError(`Cannot read camera "${name}": ${what}`, { hint: HINT });
}

function num(v: unknown, name: string, field: string, positive = false): number {
  if (typeof v !== "number" || !Number.isFinite(v) || (positive && v <= 0)) {
    fail(
      name,
      `"${field}" must be a ${positive ? "positive " : ""}finite number, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/**
 * Sizes a camera file may ask for, checked before anything is allocated: a render
 * holds float RGB + alpha + depth per pixel (≈ 20 bytes), so 8192×8192 is ≈ 1.3 GB;
 * real 3DGS captures are far below (≈ 1–2 k px).
 */
export const CAMERA_LIMITS = {
  /** Longest image side (pixels). */
  maxSide: 16384,
  /** Most pixels of one image. */
  maxPixels: 8192 * 8192,
  /** Largest cameras.json read (bytes): ≈ 200 k cameras. */
  maxFileBytes: 64 * 1024 * 1024,
} as const;

/** Converts one `cameras.json` entry (already parsed) to a world-to-camera pinhole camera. */
export function cameraFromJson(entry: unknown, name = "cameras.json"): PinholeCamera {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    fail(name, "the entry is not an object");
  }
  const e = entry as Record<string, unknown>;
  const width = num(e.width, name, "width", true), height = num(e.height, name, "height", true);
  if (!Number.isInteger(width) || !Number.isInteger(height)) {
    fail(name, `width/height must be integers`);
  }
  if (
    width > CAMERA_LIMITS.maxSide || height > CAMERA_LIMITS.maxSide ||
    width * height > CAMERA_LIMITS.maxPixels
  ) {
    fail(
      name,
      `the image would be ${width}×${height}; the limit is ${CAMERA_LIMITS.maxSide} px a side and ${CAMERA_LIMITS.maxPixels} pixels (8192×8192)`,
    );
  }
  const fx = num(e.fx, name, "fx", true), fy = num(e.fy, name, "fy", true);
  const pos = e.position;
  if (!Array.isArray(pos) || pos.length !== 3) fail(name, `"position" must be [x, y, z]`);
  const p = pos.map((v, i) => num(v, name, `position[${i}]`));
  const rot = e.rotation;
  if (
    !Array.isArray(rot) || rot.length !== 3 || !rot.every((r) => Array.isArray(r) && r.length === 3)
  ) {
    fail(name, `"rotation" must be a 3×3 array of rows`);
  }
  const c2w = (rot as unknown[][]).flatMap((r, i) =>
    r.map((v, j) => num(v, name, `rotation[${i}][${j}]`))
  );
  // Orthonormality check: RᵀR ≈ I.
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let d = 0;
      for (let k = 0; k < 3; k++) d += c2w[k * 3 + i]! * c2w[k * 3 + j]!;
      if (Math.abs(d - (i === j ? 1 : 0)) > 1e-3) {
        fail(name, `"rotation" is not a rotation matrix (RᵀR ≠ I)`);
      }
    }
  }
  // World-to-camera: R = c2wᵀ, t = −c2wᵀ·position.
  const R = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) R[i * 3 + j] = c2w[j * 3 + i]!;
  const t = [0, 1, 2].map((i) =>
    -(R[i * 3]! * p[0]! + R[i * 3 + 1]! * p[1]! + R[i * 3 + 2]! * p[2]!)
  );
  return {
    kind: "pinhole",
    width,
    height,
    fx,
    fy,
    cx: e.cx === undefined ? width / 2 : num(e.cx, name, "cx"),
    cy: e.cy === undefined ? height / 2 : num(e.cy, name, "cy"),
    R,
    t,
  };
}

/** Which entry of an array file to use: by index, or by `img_name` (or `id` as a string). */
export interface CameraPick {
  index?: number;
  name?: string;
}

/** Parses the text of a `cameras.json` (array or single entry) and picks one camera. */
export function parseCameraFile(
  text: string,
  name = "cameras.json",
  pick: CameraPick = {},
): PinholeCamera {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    fail(name, `invalid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(data)) {
    if (pick.index !== undefined && pick.index !== 0) {
      fail(name, `the file holds one camera, not index ${pick.index}`);
    }
    return cameraFromJson(data, name);
  }
  if (data.length === 0) fail(name, "the camera array is empty");
  if (pick.name !== undefined) {
    const i = data.findIndex((d) =>
      typeof d === "object" && d !== null &&
      ((d as Record<string, unknown>).img_name === pick.name ||
        String((d as Record<string, unknown>).id) === pick.name)
    );
    if (i < 0) fail(name, `no camera named "${pick.name}"`);
    return cameraFromJson(data[i], `${name}[${i}]`);
  }
  const index = pick.index ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= data.length) {
    fail(
      name,
      `camera index ${index} is out of range (the file has ${data.length} cameras: 0..${
        data.length - 1
      })`,
    );
  }
  return cameraFromJson(data[index], `${name}[${index}]`);
}

/** Reads a `cameras.json` file and picks one camera. */
export async function readCamera(path: string, pick: CameraPick = {}): Promise<PinholeCamera> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readInputFile(path, CAMERA_LIMITS.maxFileBytes));
  } catch (e) {
    if (e instanceof SplatInputError) throw e;
    throw new SplatInputError(
      `Cannot read camera "${path}": ${e instanceof Error ? e.message : String(e)}`,
      {
        hint: "check the path",
        cause: e,
      },
    );
  }
  return parseCameraFile(text, path, pick);
}

/** The `cameras.json` entry of a pinhole camera (inverse of {@link cameraFromJson}; cx/cy kept when off-centre). */
export function cameraToJson(camera: PinholeCamera, id = 0, imgName = `${id}`): CameraJson {
  const R = Array.from(camera.R), t = Array.from(camera.t);
  const position = [0, 1, 2].map((j) =>
    -(R[j]! * t[0]! + R[3 + j]! * t[1]! + R[6 + j]! * t[2]!)
  ) as [
    number,
    number,
    number,
  ];
  const row = (i: number): [number, number, number] => [R[i]!, R[3 + i]!, R[6 + i]!];
  const out: CameraJson = {
    id,
    img_name: imgName,
    width: camera.width,
    height: camera.height,
    position,
    rotation: [row(0), row(1), row(2)],
    fx: camera.fx,
    fy: camera.fy,
  };
  if (camera.cx !== camera.width / 2) out.cx = camera.cx;
  if (camera.cy !== camera.height / 2) out.cy = camera.cy;
  return out;
}
