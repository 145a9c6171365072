/**
 * Native backend: spawns `ffmpeg`/`ffprobe` from PATH and streams frames through
 * pipes, so memory is one frame plus pipe buffers whatever the clip length.
 *
 * @module
 */
import { MediaError } from "../errors.ts";
import {
  decodeAudioArgs,
  decodeVideoArgs,
  encodeVideoArgs,
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
  requireAudio,
  requireVideo,
  resolveVideoFormat,
} from "./_common.ts";
import { parseProbe } from "./_probe.ts";
import { type LogFn, spawn } from "./_process.ts";
import type {
  DecodeVideoOptions,
  EncodeVideoOptions,
  Frame,
  FrameWriter,
  MediaBackend,
  ProbeResult,
} from "./types.ts";

export class NativeMedia implements MediaBackend {
  readonly name = "native" as const;
  constructor(
    private readonly log?: LogFn,
    private readonly ffmpeg = "ffmpeg",
    private readonly ffprobe = "ffprobe",
  ) {}

  async probe(path: string): Promise<ProbeResult> {
    await assertInputFile(path);
    const p = spawn(this.ffprobe, probeArgs(path), { log: this.log });
    const out = new Response(p.child.stdout).text();
    const text = await out;
    const status = await p.child.status;
    await p.stderrDone;
    if (!status.success) {
      throw new MediaError(
        `Cannot read "${path}": ${p.stderr.text.split("\n").pop() || "ffprobe failed"}`,
        {
          hint: "the file is corrupt, truncated or not a media file; re-export or re-download it",
        },
      );
    }
    return parseProbe(path, text);
  }

  async *decodeVideo(
    path: string,
    opts: DecodeVideoOptions = {},
  ): AsyncGenerator<Frame> {
    const info = requireVideo(await this.probe(path));
    const { width, height, channels, frameBytes } = decodedFrames(info, opts);
    const args = decodeVideoArgs(decodeArgsFor(info, opts, {
      input: path,
      output: "pipe:1",
      ...(opts.startS !== undefined ? { startS: opts.startS } : {}),
      ...(opts.maxFrames !== undefined ? { maxFrames: opts.maxFrames } : {}),
    }));
    const p = spawn(this.ffmpeg, args, { log: this.log, signal: opts.signal });
    const startIndex = Math.round((opts.startS ?? 0) * info.fps);
    const reader = p.child.stdout.getReader();
    let buf = new Uint8Array(frameBytes);
    let fill = 0;
    let index = 0;
    let finished = false;
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        let off = 0;
        while (off < value.length) {
          const n = Math.min(frameBytes - fill, value.length - off);
          buf.set(value.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill === frameBytes) {
            const i = startIndex + index++;
            yield {
              index: i,
              timeS: i / (info.fps || 1),
              width,
              height,
              channels,
              data: buf,
            };
            buf = new Uint8Array(frameBytes);
            fill = 0;
          }
        }
      }
      await p.wait(`Cannot decode "${path}"`);
      checkDecoded(path, index, info, opts);
      finished = true;
    } finally {
      if (!finished) {
        p.kill();
        reader.releaseLock();
        await p.child.status.catch(() => {});
        await p.stderrDone;
      }
    }
  }

  async decodeAudio(
    path: string,
    sampleRateHz: number,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const probe = await this.probe(path);
    requireAudio(probe);
    const p = spawn(
      this.ffmpeg,
      decodeAudioArgs(path, sampleRateHz, "pipe:1"),
      { log: this.log, signal },
    );
    const bytes = new Uint8Array(
      await new Response(p.child.stdout).arrayBuffer(),
    );
    await p.wait(`Cannot decode audio of "${path}"`);
    const n = Math.floor(bytes.length / 4);
    return new Float32Array(bytes.buffer.slice(0, n * 4));
  }

  encodeVideo(outPath: string, opts: EncodeVideoOptions): Promise<FrameWriter> {
    let fmt: ReturnType<typeof resolveVideoFormat>;
    try {
      fmt = resolveVideoFormat(opts.codec, opts.pixelFormat, outPath, !!opts.audioPath);
    } catch (e) {
      return Promise.reject(e);
    }
    const args = encodeVideoArgs({
      ...encodeArgsFor(opts, fmt, "pipe:0", outPath),
      ...(opts.audioPath ? { audio: opts.audioPath } : {}),
      ...(opts.duration ? { duration: opts.duration } : {}),
    });
    const p = spawn(this.ffmpeg, args, {
      log: this.log,
      signal: opts.signal,
      stdin: "piped",
      stdout: "null",
    });
    const writer = p.child.stdin.getWriter();
    let closed = false;
    return Promise.resolve({
      async write(frame: Uint8Array) {
        assertFrameSize(frame, opts.width, opts.height, fmt.pixelFormat);
        try {
          await writer.write(frame);
        } catch (e) {
          await p.child.status;
          await p.stderrDone;
          throw new MediaError(
            `Cannot encode "${outPath}": ${p.stderr.text || (e as Error).message}`,
            {
              cause: e,
            },
          );
        }
      },
      async close() {
        if (closed) return;
        closed = true;
        await writer.close().catch(() => {});
        await p.wait(`Cannot encode "${outPath}"`);
      },
      async abort() {
        if (closed) return;
        closed = true;
        p.kill();
        await writer.abort().catch(() => {});
        await p.child.status.catch(() => {});
        await p.stderrDone;
        await Deno.remove(outPath).catch(() => {});
      },
    });
  }

  async muxAudio(
    videoPath: string,
    audioPath: string,
    outPath: string,
    opts: { durationS?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    await assertInputFile(videoPath);
    await assertInputFile(audioPath);
    const p = spawn(this.ffmpeg, muxAudioArgs(videoPath, audioPath, outPath, opts.durationS), {
      log: this.log,
      signal: opts.signal,
      stdout: "null",
    });
    await p.wait(`Cannot mux "${audioPath}" into "${videoPath}"`);
  }
}
