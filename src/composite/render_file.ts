/**
 * The intermediate between `head.render` and `body.inpaint` (CONTRACTS §4): three
 * files written frame by frame and read back frame by frame, so neither side holds
 * the clip.
 *
 * - `render` (`.mkv`, FFV1, stored bgra, read/written as `rgba`): the footage's size
 *   and frame rate, one frame per footage frame, in order. RGB = the rendered head
 *   (straight, not premultiplied), A = render coverage (0 where nothing was drawn).
 * - `mask` (`.mkv`, FFV1, gray): the region whose pixels may change, 0..255
 *   (feathered; from {@link LowerFaceMasker}).
 * - `meta` (`.safetensors`):
 *
 * | name               | dtype | shape        | meaning |
 * |--------------------|-------|--------------|---------|
 * | pass_through       | U8    | [T]          | 1 = no usable face: the frame must stay exactly the decoded source |
 * | tracked_landmarks  | F32   | [T, 468, 2]  | the footage's tracked mesh, image px (pixel centres at +0.5); NaN on pass-through frames |
 * | driven_landmarks   | F32   | [T, 468, 2]  | the driven (rendered) mesh, same convention |
 *
 *   `__metadata__`: `format` = "dub.head_render", `version` = "1", `width`, `height`,
 *   `fps` (rational string, e.g. "25/1"), `frame_count`.
 *
 * Pass-through frames hold a transparent black render and an all-zero mask.
 * The writer streams the landmarks to scratch files and assembles the safetensors
 * file at `close()`; every output is written under a temp name and renamed, so a
 * failed or aborted write leaves none of the three files behind.
 *
 * @module
 */
import { join } from "node:path";
import { DubError } from "../errors.ts";
import { fpsString } from "../media/_common.ts";
import { parseRational } from "../media/_probe.ts";
import type { FrameWriter, MediaBackend } from "../media/types.ts";
import { MESH_VERTEX_COUNT } from "../track/canonical_mesh.ts";
import { type DType, writeSafetensors } from "../tensor/safetensors.ts";

export const RENDER_FORMAT = "dub.head_render";
export const RENDER_VERSION = 1;

/** Paths of the three files of one render. */
export interface RenderPaths {
  render: string;
  mask: string;
  meta: string;
}

/** The footage geometry the render matches. */
export interface RenderInfo {
  width: number;
  height: number;
  /** Frame rate as a rational string ("25/1", "30000/1001") or a number. */
  fps: string | number;
}

/** One frame to write. */
export interface RenderFrameIn {
  /** `[H, W, 4]` straight RGBA, A = coverage. */
  rgba: Uint8Array;
  /** `[H, W]` 0..255. */
  mask: Uint8Array;
  /** `[468, 2]` image px. */
  trackedLandmarks: Float32Array;
  /** `[468, 2]` image px. */
  drivenLandmarks: Float32Array;
}

/** One frame as read. Pass-through frames have all-zero `rgba` and `mask`. */
export interface RenderFrame extends RenderFrameIn {
  index: number;
  passThrough: boolean;
}

/** A render file cannot be used. */
export class RenderFileError extends DubError {
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super("input", message, options);
    this.name = "RenderFileError";
  }
}

const LM = MESH_VERTEX_COUNT * 2;
const tmpOf = (p: string) =>
  `${p}.${crypto.randomUUID().slice(0, 8)}.partial${p.match(/\.[a-z]+$/)?.[0] ?? ""}`;

/** Writes the three files of a render, one frame at a time. */
export class RenderWriter {
  #n = 0;
  #done = false;
  private constructor(
    private readonly paths: RenderPaths,
    private readonly info: { width: number; height: number; fps: string },
    private readonly tmp: RenderPaths & { pass: string; tracked: string; driven: string },
    private readonly render: FrameWriter,
    private readonly maskW: FrameWriter,
    private readonly files: { pass: Deno.FsFile; tracked: Deno.FsFile; driven: Deno.FsFile },
  ) {}

  /** Open the writer (the outputs appear only at `close()`). */
  static async open(
    media: MediaBackend,
    paths: RenderPaths,
    info: RenderInfo,
  ): Promise<RenderWriter> {
    const fps = fpsString(info.fps);
    const tmp = {
      render: tmpOf(paths.render),
      mask: tmpOf(paths.mask),
      meta: tmpOf(paths.meta),
      pass: tmpOf(paths.meta) + ".pass",
      tracked: tmpOf(paths.meta) + ".tracked",
      driven: tmpOf(paths.meta) + ".driven",
    };
    const common = { width: info.width, height: info.height, fps, codec: "ffv1" as const };
    const render = await media.encodeVideo(tmp.render, { ...common, pixelFormat: "rgba" });
    const maskW = await media.encodeVideo(tmp.mask, { ...common, pixelFormat: "gray" });
    const open = (p: string) => Deno.open(p, { write: true, create: true, truncate: true });
    const files = {
      pass: await open(tmp.pass),
      tracked: await open(tmp.tracked),
      driven: await open(tmp.driven),
    };
    return new RenderWriter(
      paths,
      { width: info.width, height: info.height, fps },
      tmp,
      render,
      maskW,
      files,
    );
  }

  /** Frames written so far. */
  get frameCount(): number {
    return this.#n;
  }

  /** Write the next frame's render, mask and landmarks. */
  async write(f: RenderFrameIn): Promise<void> {
    const { width: W, height: H } = this.info;
    if (f.rgba.length !== W * H * 4) {
      throw new RangeError(`Render rgba must be [${H}, ${W}, 4], got ${f.rgba.length} values`);
    }
    if (f.mask.length !== W * H) {
      throw new RangeError(`Render mask must be [${H}, ${W}], got ${f.mask.length} values`);
    }
    if (f.trackedLandmarks.length !== LM || f.drivenLandmarks.length !== LM) {
      throw new RangeError(`Render landmarks must be [468, 2] (${LM} values)`);
    }
    await this.render.write(f.rgba);
    await this.maskW.write(f.mask);
    await this.#meta(0, f.trackedLandmarks, f.drivenLandmarks);
  }

  /** Write a frame that must pass through untouched (no face). */
  async writePassThrough(): Promise<void> {
    const { width: W, height: H } = this.info;
    await this.render.write(new Uint8Array(W * H * 4));
    await this.maskW.write(new Uint8Array(W * H));
    const nan = new Float32Array(LM).fill(NaN);
    await this.#meta(1, nan, nan);
  }

  async #meta(pass: number, tracked: Float32Array, driven: Float32Array): Promise<void> {
    await writeAll(this.files.pass, new Uint8Array([pass]));
    await writeAll(
      this.files.tracked,
      new Uint8Array(tracked.buffer, tracked.byteOffset, tracked.byteLength),
    );
    await writeAll(
      this.files.driven,
      new Uint8Array(driven.buffer, driven.byteOffset, driven.byteLength),
    );
    this.#n++;
  }

  /** Finish all three files and put them in place. */
  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    try {
      if (this.#n === 0) throw new RangeError("RenderWriter.close(): no frames were written");
      await this.render.close();
      await this.maskW.close();
      for (const f of Object.values(this.files)) f.close();
      const T = this.#n;
      const t = (name: string, dtype: DType, shape: number[], path: string) => ({
        name,
        dtype,
        shape,
        data: { path },
      });
      await writeSafetensors(this.tmp.meta, [
        t("pass_through", "U8", [T], this.tmp.pass),
        t("tracked_landmarks", "F32", [T, MESH_VERTEX_COUNT, 2], this.tmp.tracked),
        t("driven_landmarks", "F32", [T, MESH_VERTEX_COUNT, 2], this.tmp.driven),
      ], {
        format: RENDER_FORMAT,
        version: String(RENDER_VERSION),
        width: String(this.info.width),
        height: String(this.info.height),
        fps: this.info.fps,
        frame_count: String(T),
      });
      await Deno.rename(this.tmp.render, this.paths.render);
      await Deno.rename(this.tmp.mask, this.paths.mask);
      await Deno.rename(this.tmp.meta, this.paths.meta);
    } catch (e) {
      await this.#cleanup(true);
      throw e;
    }
    await this.#cleanup(false);
  }

  /** Discard everything written. */
  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#cleanup(true);
  }

  async #cleanup(all: boolean): Promise<void> {
    for (const f of Object.values(this.files)) {
      try {
        f.close();
      } catch { /* already closed */ }
    }
    if (all) {
      await this.render.abort().catch(() => {});
      await this.maskW.abort().catch(() => {});
    }
    const rm = [this.tmp.pass, this.tmp.tracked, this.tmp.driven];
    if (all) rm.push(this.tmp.render, this.tmp.mask, this.tmp.meta);
    for (const p of rm) await Deno.remove(p).catch(() => {});
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let o = 0;
  while (o < data.length) o += await file.write(data.subarray(o));
}

/** What the meta file says, plus a per-frame landmark reader (reads by offset). */
export interface RenderMeta {
  width: number;
  height: number;
  fps: string;
  frameCount: number;
  passThrough: Uint8Array; // [T]
  /** Landmarks of frame `t`: tracked and driven `[468, 2]`. */
  landmarks(t: number): Promise<{ tracked: Float32Array; driven: Float32Array }>;
  close(): void;
}

/** Open a render's meta file (validated; landmarks are read per frame, not held). */
export async function openRenderMeta(path: string): Promise<RenderMeta> {
  const bad = (why: string) =>
    new RenderFileError(`Cannot read "${path}": ${why}`, {
      hint: "re-run the head.render step (the file is not a head render or is damaged)",
    });
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new RenderFileError(
      `Cannot read "${path}": ${
        e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message
      }`,
    );
  }
  try {
    const size = (await file.stat()).size;
    const pre = await readAt(file, 0, 8);
    if (pre.length < 8) throw bad("too short to be a safetensors file");
    const n = Number(new DataView(pre.buffer).getBigUint64(0, true));
    if (n <= 0 || 8 + n > size) throw bad(`header length ${n} exceeds the file; it is truncated`);
    let header:
      & Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>
      & {
        __metadata__?: Record<string, string>;
      };
    try {
      header = JSON.parse(new TextDecoder().decode(await readAt(file, 8, n)));
    } catch {
      throw bad("the header is not JSON");
    }
    const md = header.__metadata__ ?? {};
    if (md.format !== RENDER_FORMAT) {
      throw bad(`format is "${md.format ?? ""}", expected "${RENDER_FORMAT}"`);
    }
    if (md.version !== String(RENDER_VERSION)) {
      throw bad(`version ${md.version} is not supported (expected ${RENDER_VERSION})`);
    }
    const T = Number(md.frame_count), width = Number(md.width), height = Number(md.height);
    if (!(T > 0 && width > 0 && height > 0) || !parseRational(md.fps ?? "")) {
      throw bad("metadata is incomplete");
    }
    const base = 8 + n;
    const tensor = (name: string, dtype: string, per: number, bytes: number) => {
      const t = header[name];
      if (!t || t.dtype !== dtype || t.shape[0] !== T) {
        throw bad(`tensor "${name}" is missing or has the wrong shape`);
      }
      const [b, e] = t.data_offsets;
      if (e - b !== T * per * bytes || base + e > size) throw bad(`tensor "${name}" is truncated`);
      return base + b;
    };
    const passOff = tensor("pass_through", "U8", 1, 1);
    const trOff = tensor("tracked_landmarks", "F32", LM, 4);
    const drOff = tensor("driven_landmarks", "F32", LM, 4);
    const passThrough = await readAt(file, passOff, T);
    const f = file;
    return {
      width,
      height,
      fps: md.fps!,
      frameCount: T,
      passThrough,
      async landmarks(t: number) {
        if (!(t >= 0 && t < T)) throw new RangeError(`Frame ${t} is outside 0..${T - 1}`);
        const tr = await readAt(f, trOff + t * LM * 4, LM * 4);
        const dr = await readAt(f, drOff + t * LM * 4, LM * 4);
        return { tracked: new Float32Array(tr.buffer), driven: new Float32Array(dr.buffer) };
      },
      close: () => f.close(),
    };
  } catch (e) {
    file.close();
    throw e;
  }
}

async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(length);
  let o = 0;
  while (o < length) {
    const r = await file.read(out.subarray(o));
    if (r === null) break;
    o += r;
  }
  return o === length ? out : out.subarray(0, o);
}

/**
 * Read a render frame by frame (render, mask and landmarks in step). Checks the
 * three files agree with each other and, if given, with the footage geometry.
 */
export async function* readRenderFile(
  media: MediaBackend,
  paths: RenderPaths,
  expect?: { width: number; height: number; frameCount?: number },
  signal?: AbortSignal,
): AsyncGenerator<RenderFrame> {
  const meta = await openRenderMeta(paths.meta);
  try {
    if (expect && (expect.width !== meta.width || expect.height !== meta.height)) {
      throw new RenderFileError(
        `The head render "${paths.meta}" is ${meta.width}×${meta.height} but the footage is ${expect.width}×${expect.height}`,
        { hint: "render the head from this footage's track" },
      );
    }
    if (expect?.frameCount !== undefined && expect.frameCount !== meta.frameCount) {
      throw new RenderFileError(
        `The head render "${paths.meta}" has ${meta.frameCount} frames but the footage has ${expect.frameCount}`,
        { hint: "render the head from this footage's track" },
      );
    }
    const rs = media.decodeVideo(paths.render, {
      pixelFormat: "rgba",
      ...(signal ? { signal } : {}),
    })[Symbol.asyncIterator]();
    const ms = media.decodeVideo(paths.mask, { pixelFormat: "gray", ...(signal ? { signal } : {}) })
      [Symbol.asyncIterator]();
    try {
      for (let t = 0; t < meta.frameCount; t++) {
        const [r, m] = await Promise.all([rs.next(), ms.next()]);
        if (r.done || m.done) {
          throw new RenderFileError(
            `Cannot read "${
              r.done ? paths.render : paths.mask
            }": it ends at frame ${t} of ${meta.frameCount}`,
            { hint: "re-run the head.render step" },
          );
        }
        if (
          r.value.width !== meta.width || r.value.height !== meta.height ||
          m.value.width !== meta.width
        ) {
          throw new RenderFileError(
            `The render files of "${paths.meta}" disagree on the frame size`,
          );
        }
        const lm = await meta.landmarks(t);
        yield {
          index: t,
          passThrough: meta.passThrough[t] === 1,
          rgba: r.value.data,
          mask: m.value.data,
          trackedLandmarks: lm.tracked,
          drivenLandmarks: lm.driven,
        };
      }
    } finally {
      await rs.return?.(undefined);
      await ms.return?.(undefined);
    }
  } finally {
    meta.close();
  }
}

/** The default file names of a render inside a folder. */
export function renderPathsIn(dir: string, stem = "head"): RenderPaths {
  return {
    render: join(dir, `${stem}_render.mkv`),
    mask: join(dir, `${stem}_mask.mkv`),
    meta: join(dir, `${stem}_meta.safetensors`),
  };
}

/**
 * Paste a rendered crop (float RGB `[h, w, 3]` + alpha `[h, w]`, 0..1) into a
 * transparent full-frame RGBA `[H, W, 4]` (8-bit, straight alpha) at `crop`.
 */
export function renderToRgba(
  rgb: Float32Array,
  alpha: Float32Array,
  width: number,
  height: number,
  crop: { x: number; y: number; w: number; h: number } = { x: 0, y: 0, w: width, h: height },
): Uint8Array {
  if (rgb.length !== crop.w * crop.h * 3 || alpha.length !== crop.w * crop.h) {
    throw new RangeError(`Render crop must be [${crop.h}, ${crop.w}, 3] + [${crop.h}, ${crop.w}]`);
  }
  const out = new Uint8Array(width * height * 4);
  const q = (v: number) => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255));
  for (let y = 0; y < crop.h; y++) {
    const Y = crop.y + y;
    if (Y < 0 || Y >= height) continue;
    for (let x = 0; x < crop.w; x++) {
      const X = crop.x + x;
      if (X < 0 || X >= width) continue;
      const s = y * crop.w + x, d = (Y * width + X) * 4;
      out[d] = q(rgb[s * 3]!);
      out[d + 1] = q(rgb[s * 3 + 1]!);
      out[d + 2] = q(rgb[s * 3 + 2]!);
      out[d + 3] = q(alpha[s]!);
    }
  }
  return out;
}
