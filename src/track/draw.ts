/**
 * Preview drawing straight into RGB frames (`[H, W, 3]` uint8): the tracked mesh's
 * edges, the head-pose axes, and a PNG contact sheet of thumbnails.
 *
 * @module
 */
import { downscaleBox } from "../image/resize.ts";
import { encodePng } from "../image/png.ts";
import type { HeadPose } from "./pose.ts";

export type RGB = [number, number, number];

/** Draw a 1-px line (Bresenham) into an RGB image, clipped to its bounds. */
export function drawLine(
  img: Uint8Array,
  width: number,
  height: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  color: RGB,
): void {
  if (![x0, y0, x1, y1].every(Number.isFinite)) return;
  let ax = Math.round(x0), ay = Math.round(y0);
  const bx = Math.round(x1), by = Math.round(y1);
  const dx = Math.abs(bx - ax), dy = -Math.abs(by - ay);
  const sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1;
  let err = dx + dy;
  for (let guard = 0; guard < 20000; guard++) {
    if (ax >= 0 && ay >= 0 && ax < width && ay < height) {
      const o = (ay * width + ax) * 3;
      img[o] = color[0];
      img[o + 1] = color[1];
      img[o + 2] = color[2];
    }
    if (ax === bx && ay === by) break;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      ax += sx;
    }
    if (e2 <= dx) {
      err += dx;
      ay += sy;
    }
  }
}

/** Unique undirected edges of a triangle list (`[F, 3]`) as a flat `[E, 2]` array. */
export function meshEdges(triangles: Uint32Array): Uint32Array {
  const seen = new Set<number>();
  const out: number[] = [];
  for (let f = 0; f < triangles.length; f += 3) {
    for (let k = 0; k < 3; k++) {
      const a = triangles[f + k]!, b = triangles[f + ((k + 1) % 3)]!;
      const key = Math.min(a, b) * 65536 + Math.max(a, b);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(a, b);
      }
    }
  }
  return Uint32Array.from(out);
}

/** Draw the mesh edges (`[E, 2]`) of landmarks (`[N, 3]`, pixels). */
export function drawMesh(
  img: Uint8Array,
  width: number,
  height: number,
  landmarks: Float32Array,
  edges: Uint32Array,
  color: RGB = [200, 220, 255],
): void {
  for (let e = 0; e < edges.length; e += 2) {
    const a = edges[e]!, b = edges[e + 1]!;
    drawLine(
      img,
      width,
      height,
      landmarks[a * 3]!,
      landmarks[a * 3 + 1]!,
      landmarks[b * 3]!,
      landmarks[b * 3 + 1]!,
      color,
    );
  }
}

/**
 * Draw the head axes (canonical x red, y green, z blue, `lengthCm` long) from the
 * canonical point `originCm` under `pose`.
 */
export function drawPoseAxes(
  img: Uint8Array,
  width: number,
  height: number,
  pose: HeadPose,
  originCm: [number, number, number] = [0, -1.1, 7.5], // nose tip (landmark 1)
  lengthCm = 6,
): void {
  const R = pose.rotation, s = pose.scale, T = pose.translation;
  const proj = (x: number, y: number, z: number): [number, number] => [
    s * (R[0]! * x + R[1]! * y + R[2]! * z) + T[0]!,
    s * (R[3]! * x + R[4]! * y + R[5]! * z) + T[1]!,
  ];
  const [ox, oy] = proj(...originCm);
  const colors: RGB[] = [[255, 40, 40], [40, 255, 40], [60, 120, 255]];
  for (let k = 0; k < 3; k++) {
    const p: [number, number, number] = [...originCm];
    p[k]! += lengthCm;
    const [px, py] = proj(...p);
    // 2-px thick
    for (const d of [-0.5, 0.5]) {
      drawLine(img, width, height, ox + d, oy + d, px + d, py + d, colors[k]!);
    }
  }
}

/** Draw a rectangle outline. */
export function drawBox(
  img: Uint8Array,
  width: number,
  height: number,
  box: number[],
  color: RGB,
): void {
  const [x, y, w, h] = box as [number, number, number, number];
  drawLine(img, width, height, x, y, x + w, y, color);
  drawLine(img, width, height, x + w, y, x + w, y + h, color);
  drawLine(img, width, height, x + w, y + h, x, y + h, color);
  drawLine(img, width, height, x, y + h, x, y, color);
}

/** A grid of thumbnails filled one at a time, then encoded as PNG. */
export class ContactSheet {
  readonly columns: number;
  readonly thumbWidth: number;
  readonly thumbHeight: number;
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array; // [H, W, 3]
  #next = 0;

  constructor(
    count: number,
    columns: number,
    frameWidth: number,
    frameHeight: number,
    thumbWidth = 240,
  ) {
    this.columns = Math.max(1, Math.min(columns, count));
    this.thumbWidth = thumbWidth;
    this.thumbHeight = Math.max(1, Math.round((thumbWidth * frameHeight) / frameWidth));
    const rows = Math.max(1, Math.ceil(count / this.columns));
    this.width = this.columns * thumbWidth;
    this.height = rows * this.thumbHeight;
    this.rgb = new Uint8Array(this.width * this.height * 3);
  }

  /** Put the next thumbnail (box-filtered downscale of an RGB frame `[height, width, 3]`). */
  add(frame: Uint8Array, width: number, height: number): void {
    const i = this.#next++;
    const cx = (i % this.columns) * this.thumbWidth;
    const cy = Math.floor(i / this.columns) * this.thumbHeight;
    if (cy >= this.height) return;
    downscaleBox(frame, width, height, 3, this.rgb, this.thumbWidth, this.thumbHeight, {
      x: cx,
      y: cy,
      stride: this.width,
    });
  }

  /** PNG bytes of the sheet. */
  toPng(): Uint8Array {
    return encodePng({ width: this.width, height: this.height, channels: 3, data: this.rgb });
  }
}
