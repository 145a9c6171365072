/**
 * Row-wise access to a face-track file (`src/track/track_file.ts`) for streaming
 * consumers such as `head.render`: the per-frame scalars and small vectors (found,
 * pose, articulation: tens of bytes per frame) are read into memory, the large
 * per-frame meshes (`landmarks`, `expression`, [T, 468, 3]) are read one row at a
 * time from the file, so memory does not grow with the clip's length.
 *
 * @module
 */
import type { TrackClipInfo } from "../track/track_file.ts";
import { TRACK_FORMAT, TRACK_VERSION } from "../track/track_file.ts";
import { ARTICULATION_DIM } from "../articulation/mod.ts";
import { type PoseSmoothOptions, rigidPoints, smoothPoses } from "./pose_smooth.ts";

const ROW = 468 * 3;

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** A face-track file opened for row access; close it (or `using`) when done. */
export class TrackRows implements Disposable {
  readonly path: string;
  readonly clip: TrackClipInfo;
  /** Number of rows T. */
  readonly frames: number;
  readonly found: Uint8Array; // [T]
  readonly rotation: Float32Array; // [T*9]
  readonly translation: Float32Array; // [T*3]
  readonly scale: Float32Array; // [T]
  readonly articulation: Float32Array; // [T*8]
  readonly neutralExpression: Float32Array; // [468*3]
  readonly #file: Deno.FsFile;
  readonly #offsets: Map<string, number>;

  private constructor(
    path: string,
    file: Deno.FsFile,
    clip: TrackClipInfo,
    small: {
      found: Uint8Array;
      rotation: Float32Array;
      translation: Float32Array;
      scale: Float32Array;
      articulation: Float32Array;
      neutralExpression: Float32Array;
    },
    offsets: Map<string, number>,
  ) {
    this.path = path;
    this.#file = file;
    this.clip = clip;
    this.frames = small.found.length;
    this.found = small.found;
    this.rotation = small.rotation;
    this.translation = small.translation;
    this.scale = small.scale;
    this.articulation = small.articulation;
    this.neutralExpression = small.neutralExpression;
    this.#offsets = offsets;
  }

  /** Opens `path`; rejects a file that is not a face track of this version, naming it. */
  static async open(path: string): Promise<TrackRows> {
    const fail = (why: string): never => {
      throw new Error(`Cannot read "${path}": ${why}; pass a face.track output`);
    };
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (e) {
      throw new Error(`Cannot read "${path}": ${(e as Error).message}; pass a face.track output`, {
        cause: e,
      });
    }
    try {
      const size = (await file.stat()).size;
      const prefix = await readAt(file, 0, 8, path);
      const n = Number(new DataView(prefix.buffer).getBigUint64(0, true));
      if (n <= 0 || 8 + n > size) fail("not a safetensors file or truncated");
      let header: Record<string, Entry | Record<string, string>>;
      try {
        header = JSON.parse(new TextDecoder().decode(await readAt(file, 8, n, path)));
      } catch {
        return fail("the safetensors header is not JSON");
      }
      const meta = (header.__metadata__ ?? {}) as Record<string, string>;
      if (meta.format !== TRACK_FORMAT) fail(`not a face-track file (format "${meta.format}")`);
      if (Number(meta.version) !== TRACK_VERSION) {
        fail(`face-track version ${meta.version}, expected ${TRACK_VERSION}`);
      }
      const clip = JSON.parse(meta.clip ?? "{}") as TrackClipInfo;
      const base = 8 + n;
      const entry = (name: string, dtype: string, shape: (T: number) => number[]) => {
        const e = header[name] as Entry | undefined;
        if (!e || e.dtype !== dtype) return fail(`missing ${dtype} tensor "${name}"`);
        const T = e.shape[0]!;
        const want = shape(T);
        if (e.shape.length !== want.length || e.shape.some((s, i) => s !== want[i])) {
          fail(`tensor "${name}" has shape [${e.shape}], expected [${want}]`);
        }
        if (base + e.data_offsets[1] > size) fail(`tensor "${name}" runs past the end (truncated)`);
        return e;
      };
      const foundE = entry("found", "U8", (T) => [T]);
      const T = foundE.shape[0]!;
      const readF32 = async (e: Entry) => {
        const b = await readAt(
          file,
          base + e.data_offsets[0],
          e.data_offsets[1] - e.data_offsets[0],
          path,
        );
        return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      };
      const small = {
        found: await readAt(file, base + foundE.data_offsets[0], T, path),
        rotation: await readF32(entry("rotation", "F32", () => [T, 3, 3])),
        translation: await readF32(entry("translation", "F32", () => [T, 3])),
        scale: await readF32(entry("scale", "F32", () => [T])),
        articulation: await readF32(entry("articulation", "F32", () => [T, ARTICULATION_DIM])),
        neutralExpression: await readF32(entry("neutral_expression", "F32", () => [468, 3])),
      };
      const offsets = new Map<string, number>();
      for (const name of ["landmarks", "expression"]) {
        offsets.set(name, base + entry(name, "F32", () => [T, 468, 3]).data_offsets[0]);
      }
      return new TrackRows(path, file, clip, small, offsets);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /**
   * Replaces the pose (rotation, translation, scale) by its temporally smoothed version
   * (`pose_smooth.ts`: zero-phase, edge-preserving; still heads stop jittering, motion is
   * kept). `canonical` `[468*3]` cm: the canonical mesh's vertices.
   */
  smoothPose(canonical: ArrayLike<number>, opts: Partial<PoseSmoothOptions> = {}): void {
    const s = smoothPoses(this, rigidPoints(canonical), opts);
    this.rotation.set(s.rotation);
    this.translation.set(s.translation);
    this.scale.set(s.scale);
  }

  /** Row `t` of `expression` ([468*3] cm) into `out`. */
  expression(t: number, out: Float32Array = new Float32Array(ROW)): Promise<Float32Array> {
    return this.#row("expression", t, out);
  }

  /** Row `t` of `landmarks` ([468*3]: x, y image px, z) into `out`. */
  landmarks(t: number, out: Float32Array = new Float32Array(ROW)): Promise<Float32Array> {
    return this.#row("landmarks", t, out);
  }

  async #row(name: string, t: number, out: Float32Array): Promise<Float32Array> {
    if (!(t >= 0 && t < this.frames)) {
      throw new RangeError(`Track row ${t} is outside 0…${this.frames - 1} of "${this.path}"`);
    }
    const bytes = new Uint8Array(out.buffer, out.byteOffset, ROW * 4);
    await readInto(this.#file, this.#offsets.get(name)! + t * ROW * 4, bytes, this.path);
    return out;
  }

  close(): void {
    this.#file.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

async function readAt(
  file: Deno.FsFile,
  pos: number,
  n: number,
  path: string,
): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  await readInto(file, pos, out, path);
  return out;
}

async function readInto(
  file: Deno.FsFile,
  pos: number,
  out: Uint8Array,
  path: string,
): Promise<void> {
  await file.seek(pos, Deno.SeekMode.Start);
  let o = 0;
  while (o < out.length) {
    const r = await file.read(out.subarray(o));
    if (r === null) throw new Error(`Cannot read "${path}": the file ends early (truncated)`);
    o += r;
  }
}
