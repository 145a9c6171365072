/** Checks and helpers shared by both media backends. */
import { MediaError } from "../errors.ts";
import { DubError } from "../errors.ts";
import type { DecodeVideoArgs, EncodeVideoArgs } from "./_args.ts";
import type {
  DecodeVideoOptions,
  EncodeVideoOptions,
  PixelFormat,
  ProbeResult,
  VideoCodec,
  VideoStreamInfo,
} from "./types.ts";

/** Throw a clear MediaError if `path` is not a readable, non-empty file. */
export async function assertInputFile(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new MediaError(`Cannot read "${path}": file not found`, {
        hint: "check the path (relative paths in a workflow are relative to the workflow file)",
      });
    }
    throw new MediaError(`Cannot read "${path}": ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!info.isFile) {
    throw new MediaError(`Cannot read "${path}": not a regular file`);
  }
  if (info.size === 0) {
    throw new MediaError(`Cannot read "${path}": the file is empty`, {
      hint: "the file may be an interrupted download or copy; replace it",
    });
  }
}

/** The probed video stream, or a MediaError saying there is none. */
export function requireVideo(p: ProbeResult) {
  if (!p.video || p.video.width <= 0 || p.video.height <= 0) {
    throw new MediaError(`Cannot read "${p.path}": no video stream found`, {
      hint: "pass a file with video (this one has " +
        (p.audio.length ? "audio only)" : "no audio or video streams)"),
    });
  }
  return p.video;
}

/** Throw a clear MediaError if the probed file has no audio stream. */
export function requireAudio(p: ProbeResult): void {
  if (p.audio.length === 0) {
    throw new MediaError(`Cannot read audio from "${p.path}": no audio stream found`, {
      hint: "pass a file with an audio track (wav, mp3, m4a, or a video with sound)",
    });
  }
}

/** Throw a RangeError if a frame handed to an encoder is not `width`×`height`×channels. */
export function assertFrameSize(
  frame: Uint8Array,
  width: number,
  height: number,
  pixelFormat: PixelFormat = "rgb24",
): void {
  const expected = frameBytes(width, height, pixelFormat);
  if (frame.length !== expected) {
    throw new RangeError(
      `Frame has ${frame.length} bytes, expected ${expected} (${width}×${height} ${pixelFormat})`,
    );
  }
}

/** Channels per pixel of a raw frame layout. */
export function pixelChannels(f: PixelFormat): 1 | 3 | 4 {
  return f === "rgba" ? 4 : f === "gray" ? 1 : 3;
}

/** Bytes per raw frame of a layout. */
export const frameBytes = (w: number, h: number, f: PixelFormat = "rgb24"): number =>
  w * h * pixelChannels(f);

/**
 * The codec × input pixel-format pairs the encoders accept, with what is stored
 * (ffmpeg `-pix_fmt` of the output) and the container. FFV1 stores RGB as bgr0 and
 * RGBA as bgra (a lossless byte shuffle), gray as gray.
 */
export const VIDEO_FORMATS: Readonly<
  Record<VideoCodec, Partial<Record<PixelFormat, { stored: string }>> & { container: string }>
> = {
  h264: { container: "mp4", rgb24: { stored: "yuv420p" } },
  ffv1: {
    container: "matroska",
    rgb24: { stored: "bgr0" },
    rgba: { stored: "bgra" },
    gray: { stored: "gray" },
  },
  rawvideo: {
    container: "matroska",
    rgb24: { stored: "rgb24" },
    rgba: { stored: "rgba" },
    gray: { stored: "gray" },
  },
};

/** The resolved output format of an encode. */
export interface VideoFormat {
  codec: VideoCodec;
  pixelFormat: PixelFormat;
  /** ffmpeg `-pix_fmt` of the stored stream. */
  stored: string;
  /** ffmpeg muxer name. */
  container: string;
  /** File extension (with the dot) the output path must have. */
  ext: string;
}

/**
 * Validate a codec × pixel-format pair (and the output path's extension and audio
 * option against it); throws a usage DubError naming the valid pairs.
 */
export function resolveVideoFormat(
  codec: VideoCodec = "h264",
  pixelFormat: PixelFormat = "rgb24",
  outPath?: string,
  hasAudio = false,
): VideoFormat {
  const entry = VIDEO_FORMATS[codec];
  if (!entry) {
    throw new DubError("usage", `Unknown video codec "${codec}"`, {
      hint: `use one of ${Object.keys(VIDEO_FORMATS).join(", ")}`,
    });
  }
  const pf = entry[pixelFormat];
  if (!pf) {
    const pairs = Object.entries(VIDEO_FORMATS).flatMap(([c, e]) =>
      (["rgb24", "rgba", "gray"] as const).filter((p) => e[p]).map((p) => `${c}+${p}`)
    );
    throw new DubError(
      "usage",
      `Video codec "${codec}" cannot store pixel format "${pixelFormat}"`,
      {
        hint: `valid pairs: ${pairs.join(", ")}`,
      },
    );
  }
  const ext = entry.container === "mp4" ? ".mp4" : ".mkv";
  if (outPath !== undefined && !outPath.toLowerCase().endsWith(ext)) {
    throw new DubError("usage", `Cannot write "${outPath}": ${codec} video goes in a ${ext} file`, {
      hint: `name the output *${ext}`,
    });
  }
  if (hasAudio && codec !== "h264") {
    throw new DubError(
      "usage",
      `Cannot mux audio into the ${codec} intermediate "${outPath ?? ""}"`,
      {
        hint: "mux audio when encoding the final h264 video",
      },
    );
  }
  return { codec, pixelFormat, stored: pf.stored, container: entry.container, ext };
}

/** Normalise a frame rate to ffmpeg's rational string form. */
export function fpsString(fps: string | number): string {
  if (typeof fps === "string") return fps;
  // Common NTSC rates as exact rationals.
  for (const base of [24, 30, 60, 120]) {
    if (Math.abs(fps - (base * 1000) / 1001) < 1e-3) {
      return `${base * 1000}/1001`;
    }
  }
  if (Number.isInteger(fps)) return `${fps}/1`;
  return `${Math.round(fps * 1000)}/1000`;
}

/**
 * Throw if a full decode produced clearly fewer frames than the container
 * declares (a truncated or damaged file). `expected` null = unknown.
 */
export function checkFrameCount(
  path: string,
  decoded: number,
  expected: number | null,
): void {
  if (expected === null || expected <= 0) return;
  if (decoded < expected - Math.max(2, Math.ceil(expected * 0.01))) {
    throw new MediaError(
      `Cannot decode "${path}": only ${decoded} of ${expected} frames could be decoded; the file is truncated or damaged`,
      { hint: "re-export or re-download the file" },
    );
  }
}

/** Size and layout of the frames a decode of `info` with `opts` produces. */
export function decodedFrames(info: VideoStreamInfo, opts: DecodeVideoOptions): {
  width: number;
  height: number;
  pixelFormat: PixelFormat;
  channels: 1 | 3 | 4;
  frameBytes: number;
} {
  const width = opts.width ?? info.width;
  const height = opts.height ?? info.height;
  const pixelFormat = opts.pixelFormat ?? "rgb24";
  return {
    width,
    height,
    pixelFormat,
    channels: pixelChannels(pixelFormat),
    frameBytes: frameBytes(width, height, pixelFormat),
  };
}

/**
 * {@link DecodeVideoArgs} of a decode of stream `info` with `opts`: the stream, the
 * layout, the size, and the re-timing (variable-rate streams to their average
 * rate). Where to read/write and which frames (`startS`, `maxFrames`) are the
 * backend's (`span`).
 */
export function decodeArgsFor(
  info: VideoStreamInfo,
  opts: DecodeVideoOptions,
  span: { input: string; output: string; startS?: number; maxFrames?: number },
): DecodeVideoArgs {
  const fps = opts.fps ?? (info.variableFrameRate ? info.fpsRational : undefined);
  const { width, height, pixelFormat } = decodedFrames(info, opts);
  return {
    input: span.input,
    output: span.output,
    ...(pixelFormat !== "rgb24" ? { pixelFormat } : {}),
    streamIndex: info.index,
    ...(fps ? { fps } : {}),
    ...(span.startS !== undefined ? { startS: span.startS } : {}),
    ...(span.maxFrames !== undefined ? { maxFrames: span.maxFrames } : {}),
    ...(opts.width !== undefined && opts.height !== undefined ? { width, height } : {}),
  };
}

/** Throws unless a finished decode of `path` produced frames (and, for a whole clip, all of them). */
export function checkDecoded(
  path: string,
  count: number,
  info: VideoStreamInfo,
  opts: DecodeVideoOptions,
): void {
  if (count === 0) {
    throw new MediaError(`Cannot decode "${path}": no frames could be decoded`, {
      hint: "the file may be truncated or corrupt; re-export it",
    });
  }
  if (opts.startS === undefined && opts.maxFrames === undefined) {
    checkFrameCount(path, count, info.frameCountExact ? info.frameCount : null);
  }
}

/**
 * {@link EncodeVideoArgs} of one encode of raw frames `input` to `output` with
 * `opts` in the resolved format `fmt` (audio and length policy are the backend's).
 */
export function encodeArgsFor(
  opts: EncodeVideoOptions,
  fmt: VideoFormat,
  input: string,
  output: string,
): EncodeVideoArgs {
  return {
    input,
    output,
    ...(fmt.codec !== "h264"
      ? { codec: fmt.codec, pixelFormat: fmt.pixelFormat, stored: fmt.stored }
      : {}),
    width: opts.width,
    height: opts.height,
    fps: fpsString(opts.fps),
    crf: opts.crf ?? 18,
    preset: opts.preset ?? "medium",
  };
}
