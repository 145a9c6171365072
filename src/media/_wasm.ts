/**
 * Embedded backend: ffmpeg.wasm (`@ffmpeg/ffmpeg` + `@ffmpeg/core`, FFmpeg 5.1
 * with libx264 and aac) running in a worker. Works with no ffmpeg installed.
 *
 * ffmpeg.wasm cannot stream through pipes, so to keep memory bounded by a
 * chunk rather than by the clip length:
 * - decode runs one ffmpeg call per chunk of frames, seeking (accurate input
 *   seek) to half a frame before the chunk's first frame;
 * - encode compresses each chunk of frames to an H.264 mp4 segment and joins the
 *   segments with the concat demuxer (stream copy) at the end.
 * Only the compressed input/output files live in wasm memory in full.
 *
 * @module
 */
import { MediaError } from "../errors.ts";
import {
  concatArgs,
  decodeAudioArgs,
  decodeVideoArgs,
  encodeVideoArgs,
  fmtSeconds,
  muxAudioArgs,
  probeArgs,
} from "./_args.ts";
import {
  assertFrameSize,
  assertInputFile,
  checkDecoded,
  decodeArgsFor,
  decodedFrames,
  encodeArgsFor,
  fpsString,
  frameBytes as rawFrameBytes,
  requireAudio,
  requireVideo,
  resolveVideoFormat,
} from "./_common.ts";
import { parseProbe, parseRational } from "./_probe.ts";
import { lastLines, type LogFn, showCommand, TailBuffer } from "./_process.ts";
import type {
  DecodeVideoOptions,
  EncodeVideoOptions,
  Frame,
  FrameWriter,
  MediaBackend,
  ProbeResult,
} from "./types.ts";

/**
 * Largest input file handed to ffmpeg.wasm (bytes). Its heap is 2 GB and holds the
 * compressed input, up to 192 MB of decoded frames and the output, so a larger
 * input would fail deep inside ffmpeg with an allocation error.
 */
export const WASM_MAX_INPUT_BYTES = 1024 ** 3;

/** An input file's bytes for ffmpeg.wasm, refused with a clear error when too large. */
async function readForWasm(path: string): Promise<Uint8Array> {
  const st = await Deno.stat(path);
  if (st.size > WASM_MAX_INPUT_BYTES) {
    throw new MediaError(
      `Cannot read "${path}" with the embedded ffmpeg.wasm: it is ${
        (st.size / 1024 ** 3).toFixed(2)
      } GB; the limit is ${WASM_MAX_INPUT_BYTES / 1024 ** 3} GB`,
      { hint: "install ffmpeg (e.g. apt-get install ffmpeg) so the native backend streams it" },
    );
  }
  return await Deno.readFile(path);
}

const NODE_MODULES = new URL("../../node_modules/", import.meta.url);
/** Raw bytes per decode/encode chunk (bounds memory). */
const CHUNK_BYTES = 192 * 1024 * 1024;

interface FFmpegLike {
  load(cfg: { coreURL: string; wasmURL: string }): Promise<boolean>;
  exec(args: string[]): Promise<number>;
  ffprobe(args: string[]): Promise<number>;
  writeFile(path: string, data: Uint8Array | string): Promise<boolean>;
  readFile(path: string): Promise<Uint8Array | string>;
  deleteFile(path: string): Promise<boolean>;
  on(ev: "log", cb: (e: { type: string; message: string }) => void): void;
  terminate(): void;
}

let seq = 0;
const uniq = (stem: string) => `${stem}_${++seq}`;

/** Frames per chunk for a frame size (at least 2, at most 600). */
export function chunkFrames(
  frameBytes: number,
  chunkBytes = CHUNK_BYTES,
): number {
  return Math.max(2, Math.min(600, Math.floor(chunkBytes / frameBytes)));
}

export class WasmMedia implements MediaBackend {
  readonly name = "wasm" as const;
  #ff: Promise<FFmpegLike> | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #stderr = new TailBuffer();

  /** `chunkBytes` bounds the raw frames held at once (tests make it small). */
  constructor(
    private readonly log?: LogFn,
    private readonly chunkBytes = CHUNK_BYTES,
  ) {}

  #load(): Promise<FFmpegLike> {
    this.#ff ??= (async () => {
      const url = new URL("@ffmpeg/ffmpeg/dist/esm/index.js", NODE_MODULES);
      let mod: { FFmpeg: new () => FFmpegLike };
      try {
        mod = await import(url.href);
      } catch (e) {
        throw new MediaError(
          `Cannot load the embedded ffmpeg from "${url.pathname}"`,
          {
            hint: "run `npx -y deno@2 install` in the dub folder to fetch npm dependencies",
            cause: e,
          },
        );
      }
      const ff = new mod.FFmpeg();
      ff.on("log", ({ message }) => this.#stderr.push(message + "\n"));
      await ff.load({
        coreURL: new URL("@ffmpeg/core/dist/esm/ffmpeg-core.js", NODE_MODULES).href,
        wasmURL: new URL("@ffmpeg/core/dist/esm/ffmpeg-core.wasm", NODE_MODULES).href,
      });
      return ff;
    })();
    return this.#ff;
  }

  /** Run `fn` exclusively (ffmpeg.wasm runs one command at a time). */
  #exclusive<T>(fn: (ff: FFmpegLike) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => fn(await this.#load()));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #exec(
    ff: FFmpegLike,
    args: string[],
    what: string,
    probe = false,
    signal?: AbortSignal,
  ): Promise<string> {
    this.log?.(
      `$ ${showCommand(probe ? "ffprobe.wasm" : "ffmpeg.wasm", args)}`,
    );
    this.#stderr = new TailBuffer();
    if (signal?.aborted) throw signal.reason ?? new Error("Aborted");
    // ffmpeg.wasm cannot cancel a command: on abort, terminate the worker (a
    // fresh one is loaded on next use) so an interrupt does not wait for it.
    const onAbort = () => {
      ff.terminate();
      if (this.#ff) this.#ff = null;
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    let rc: number;
    try {
      rc = probe ? await ff.ffprobe(args) : await ff.exec(args);
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? e;
      throw e;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    const err = this.#stderr.text;
    if (!probe && rc !== 0) {
      throw new MediaError(
        `${what}: ffmpeg.wasm exited with code ${rc}: ${lastLines(err)}`,
        {
          hint: "run with --verbose to see the full command",
        },
      );
    }
    return err;
  }

  async #withInput<T>(
    ff: FFmpegLike,
    path: string,
    fn: (name: string) => Promise<T>,
  ): Promise<T> {
    const ext = path.match(/\.[A-Za-z0-9]{1,5}$/)?.[0] ?? "";
    const name = uniq("in") + ext;
    await ff.writeFile(name, await readForWasm(path));
    try {
      return await fn(name);
    } finally {
      await ff.deleteFile(name).catch(() => {});
    }
  }

  async #probeIn(
    ff: FFmpegLike,
    path: string,
    name: string,
  ): Promise<ProbeResult> {
    const out = uniq("probe") + ".json";
    const err = await this.#exec(
      ff,
      [...probeArgs(name), "-o", out],
      `Cannot read "${path}"`,
      true,
    );
    let text: string;
    try {
      text = String(
        new TextDecoder().decode(await ff.readFile(out) as Uint8Array),
      );
      await ff.deleteFile(out).catch(() => {});
    } catch {
      throw new MediaError(`Cannot read "${path}": ${lastLines(err, 1)}`, {
        hint: "the file is corrupt, truncated or not a media file; re-export or re-download it",
      });
    }
    const r = parseProbe(path, text);
    if (!r.video && r.audio.length === 0 && err) {
      throw new MediaError(`Cannot read "${path}": ${lastLines(err, 1)}`, {
        hint: "the file is corrupt, truncated or not a media file; re-export or re-download it",
      });
    }
    return r;
  }

  async probe(path: string): Promise<ProbeResult> {
    await assertInputFile(path);
    return await this.#exclusive((ff) =>
      this.#withInput(ff, path, (name) => this.#probeIn(ff, path, name))
    );
  }

  async *decodeVideo(
    path: string,
    opts: DecodeVideoOptions = {},
  ): AsyncGenerator<Frame> {
    await assertInputFile(path);
    const ff = await this.#load();
    // Keep the compressed input in wasm memory for the whole decode.
    const name = uniq("in") + (path.match(/\.[A-Za-z0-9]{1,5}$/)?.[0] ?? "");
    const bytes = await readForWasm(path);
    await this.#exclusive((f) => f.writeFile(name, bytes));
    try {
      const info = requireVideo(
        await this.#exclusive(() => this.#probeIn(ff, path, name)),
      );
      const fps = info.fps || parseRational(info.fpsRational) || 25;
      const { width, height, channels, frameBytes } = decodedFrames(info, opts);
      const perChunk = chunkFrames(frameBytes, this.chunkBytes);
      const first = Math.round((opts.startS ?? 0) * fps);
      const limit = opts.maxFrames ?? Infinity;
      let produced = 0;
      while (produced < limit) {
        if (opts.signal?.aborted) {
          throw opts.signal.reason ?? new Error("Aborted");
        }
        const index0 = first + produced;
        const want = Math.min(perChunk, limit - produced);
        const out = uniq("frames") + ".raw";
        const raw = await this.#exclusive(async (f) => {
          await this.#exec(
            f,
            decodeVideoArgs(decodeArgsFor(info, opts, {
              input: name,
              output: out,
              ...(index0 > 0 ? { startS: Number(fmtSeconds((index0 - 0.5) / fps)) } : {}),
              maxFrames: want,
            })),
            `Cannot decode "${path}"`,
            false,
            opts.signal,
          );
          let data: Uint8Array;
          try {
            data = await f.readFile(out) as Uint8Array;
          } catch {
            data = new Uint8Array(0);
          }
          await f.deleteFile(out).catch(() => {});
          return data;
        });
        const n = Math.floor(raw.length / frameBytes);
        for (let k = 0; k < n; k++) {
          if (opts.signal?.aborted) throw opts.signal.reason ?? new Error("Aborted");
          const i = index0 + k;
          yield {
            index: i,
            timeS: i / fps,
            width,
            height,
            channels,
            data: raw.subarray(k * frameBytes, (k + 1) * frameBytes),
          };
        }
        produced += n;
        if (n < want) break;
      }
      checkDecoded(path, produced, info, opts);
    } finally {
      await this.#exclusive((f) => f.deleteFile(name)).catch(() => {});
    }
  }

  async decodeAudio(
    path: string,
    sampleRateHz: number,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    await assertInputFile(path);
    return await this.#exclusive((ff) =>
      this.#withInput(ff, path, async (name) => {
        const probe = await this.#probeIn(ff, path, name);
        requireAudio(probe);
        if (signal?.aborted) throw signal.reason ?? new Error("Aborted");
        const out = uniq("audio") + ".f32";
        await this.#exec(
          ff,
          decodeAudioArgs(name, sampleRateHz, out),
          `Cannot decode audio of "${path}"`,
          false,
          signal,
        );
        const bytes = await ff.readFile(out) as Uint8Array;
        await ff.deleteFile(out).catch(() => {});
        const n = Math.floor(bytes.length / 4);
        return new Float32Array(
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * 4),
        );
      })
    );
  }

  async encodeVideo(
    outPath: string,
    opts: EncodeVideoOptions,
  ): Promise<FrameWriter> {
    const fmt = resolveVideoFormat(opts.codec, opts.pixelFormat, outPath, !!opts.audioPath);
    const segExt = fmt.ext;
    const ff = await this.#load();
    const frameBytes = rawFrameBytes(opts.width, opts.height, fmt.pixelFormat);
    const perChunk = chunkFrames(frameBytes, this.chunkBytes);
    const fps = fpsString(opts.fps);
    const fpsValue = parseRational(fps) || 25;
    let written = 0;
    const segments: string[] = [];
    let chunk = new Uint8Array(perChunk * frameBytes);
    let inChunk = 0;
    let done = false;
    const stem = uniq("enc");
    const flush = async () => {
      if (inChunk === 0) return;
      const raw = `${stem}_${segments.length}.raw`;
      const seg = `${stem}_${segments.length}${segExt}`;
      const data = chunk.subarray(0, inChunk * frameBytes);
      await this.#exclusive(async (f) => {
        await f.writeFile(raw, data.slice());
        try {
          await this.#exec(
            f,
            encodeVideoArgs(encodeArgsFor(opts, fmt, raw, seg)),
            `Cannot encode "${outPath}"`,
            false,
            opts.signal,
          );
        } finally {
          await f.deleteFile(raw).catch(() => {});
        }
      });
      segments.push(seg);
      inChunk = 0;
    };
    const cleanup = async () => {
      await this.#exclusive(async (f) => {
        for (const s of segments) await f.deleteFile(s).catch(() => {});
      });
    };
    void ff;
    return {
      async write(frame: Uint8Array) {
        if (done) throw new Error("FrameWriter is closed");
        assertFrameSize(frame, opts.width, opts.height, fmt.pixelFormat);
        if (opts.signal?.aborted) {
          throw opts.signal.reason ?? new Error("Aborted");
        }
        chunk.set(frame, inChunk * frameBytes);
        inChunk++;
        written++;
        if (inChunk === perChunk) await flush();
      },
      close: async () => {
        if (done) return;
        done = true;
        try {
          await flush();
          chunk = new Uint8Array(0);
          if (segments.length === 0) {
            throw new MediaError(
              `Cannot encode "${outPath}": no frames were written`,
            );
          }
          const list = `${stem}.txt`;
          const out = `${stem}_out${segExt}`;
          const audio = opts.audioPath;
          const bytes = await this.#exclusive(async (f) => {
            await f.writeFile(
              list,
              segments.map((s) => `file '${s}'`).join("\n") + "\n",
            );
            let audioName: string | undefined;
            if (audio) {
              await assertInputFile(audio);
              audioName = uniq("aud") +
                (audio.match(/\.[A-Za-z0-9]{1,5}$/)?.[0] ?? "");
              await f.writeFile(audioName, await readForWasm(audio));
            }
            try {
              await this.#exec(
                f,
                concatArgs(
                  list,
                  out,
                  audioName,
                  opts.duration ?? "video",
                  written / fpsValue,
                  fmt.container === "mp4" ? "mp4" : "matroska",
                ),
                `Cannot encode "${outPath}"`,
                false,
                opts.signal,
              );
              return await f.readFile(out) as Uint8Array;
            } finally {
              await f.deleteFile(list).catch(() => {});
              await f.deleteFile(out).catch(() => {});
              if (audioName) await f.deleteFile(audioName).catch(() => {});
            }
          });
          await Deno.writeFile(outPath, bytes);
        } finally {
          await cleanup();
        }
      },
      abort: async () => {
        if (done) return;
        done = true;
        chunk = new Uint8Array(0);
        await cleanup();
        await Deno.remove(outPath).catch(() => {});
      },
    };
  }

  async muxAudio(
    videoPath: string,
    audioPath: string,
    outPath: string,
    opts: { durationS?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    await assertInputFile(videoPath);
    await assertInputFile(audioPath);
    const bytes = await this.#exclusive((ff) =>
      this.#withInput(
        ff,
        videoPath,
        (v) =>
          this.#withInput(ff, audioPath, async (a) => {
            const out = uniq("mux") + ".mp4";
            await this.#exec(
              ff,
              muxAudioArgs(v, a, out, opts.durationS),
              `Cannot mux "${audioPath}" into "${videoPath}"`,
              false,
              opts.signal,
            );
            const data = await ff.readFile(out) as Uint8Array;
            await ff.deleteFile(out).catch(() => {});
            return data;
          }),
      )
    );
    await Deno.writeFile(outPath, bytes);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#ff) return;
    const ff = await this.#ff.catch(() => null);
    this.#ff = null;
    ff?.terminate();
  }
}
