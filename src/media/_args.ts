/**
 * Pure functions that build ffmpeg/ffprobe argument lists. Both backends use
 * them; golden tests pin their exact output (`_args_test.ts`).
 *
 * @module
 */
import type { PixelFormat, VideoCodec } from "./types.ts";

/** ffprobe arguments that print streams and format as JSON. */
export function probeArgs(input: string): string[] {
  return [
    "-v",
    "error",
    "-print_format",
    "json",
    "-show_format",
    "-show_streams",
    input,
  ];
}

export interface DecodeVideoArgs {
  input: string;
  output: string;
  /** Seek (input side, accurate) in seconds. */
  startS?: number;
  maxFrames?: number;
  /** Scale to this size (both or neither). */
  width?: number;
  height?: number;
  /** Absolute stream index to decode (default the first video stream). */
  streamIndex?: number;
  /** Re-time to this constant rate (rational), dropping/duplicating frames of variable-rate input. */
  fps?: string;
  /** Raw output layout (default rgb24). */
  pixelFormat?: PixelFormat;
}

/** Decode one video stream to raw frames (RGB24 unless `pixelFormat` says otherwise). */
export function decodeVideoArgs(a: DecodeVideoArgs): string[] {
  const args = ["-hide_banner", "-nostdin", "-v", "error"];
  if (a.startS !== undefined && a.startS > 0) args.push("-ss", fmtSeconds(a.startS));
  args.push("-i", a.input, "-map", a.streamIndex !== undefined ? `0:${a.streamIndex}` : "0:v:0");
  args.push("-an", "-sn", "-dn");
  if (a.width !== undefined && a.height !== undefined) {
    args.push("-vf", `scale=${a.width}:${a.height}:flags=bicubic`);
  }
  if (a.maxFrames !== undefined) args.push("-frames:v", String(a.maxFrames));
  if (a.fps) args.push("-fps_mode", "cfr", "-r", a.fps);
  else args.push("-fps_mode", "passthrough");
  args.push("-f", "rawvideo", "-pix_fmt", a.pixelFormat ?? "rgb24", a.output);
  return args;
}

/** Decode the first audio stream to mono float32 little-endian samples. */
export function decodeAudioArgs(
  input: string,
  sampleRateHz: number,
  output: string,
): string[] {
  return [
    "-hide_banner",
    "-nostdin",
    "-v",
    "error",
    "-i",
    input,
    "-map",
    "0:a:0",
    "-vn",
    "-ac",
    "1",
    "-ar",
    String(sampleRateHz),
    "-f",
    "f32le",
    output,
  ];
}

export interface EncodeVideoArgs {
  /** Raw input frames (a path or "pipe:0"), laid out as `pixelFormat`. */
  input: string;
  /** Codec (default h264). */
  codec?: VideoCodec;
  /** Layout of the raw input (default rgb24). */
  pixelFormat?: PixelFormat;
  /** ffmpeg -pix_fmt of the stored stream (default yuv420p for h264, else the input's). */
  stored?: string;
  output: string;
  width: number;
  height: number;
  fps: string;
  crf: number;
  preset: string;
  audio?: string;
  /** With audio: "video" keeps the video's length (apad + shortest), "shortest" the shorter. */
  duration?: "video" | "shortest";
  /** Output container format (default mp4). */
  format?: string;
  /** Print progress key=value lines to this target (e.g. "pipe:1"). */
  progress?: string;
}

/**
 * Encode raw frames: H.264 yuv420p from RGB24 (odd sizes padded to even, optionally
 * muxing audio), or — with `codec` ffv1/rawvideo — a lossless intermediate in
 * Matroska (FFV1 level 3, every frame a keyframe, slice CRCs; no padding, no audio).
 */
export function encodeVideoArgs(a: EncodeVideoArgs): string[] {
  const codec = a.codec ?? "h264";
  if (codec !== "h264") return encodeIntermediateArgs(a, codec);
  const args = ["-hide_banner", "-nostdin", "-v", "error", "-y"];
  if (a.progress) args.push("-progress", a.progress, "-nostats");
  args.push(
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "-s",
    `${a.width}x${a.height}`,
    "-framerate",
    a.fps,
    "-i",
    a.input,
  );
  if (a.audio) args.push("-i", a.audio);
  args.push("-map", "0:v:0");
  if (a.audio) args.push("-map", "1:a:0");
  if (a.width % 2 !== 0 || a.height % 2 !== 0) {
    args.push("-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2");
  }
  args.push(
    "-c:v",
    "libx264",
    "-preset",
    a.preset,
    "-crf",
    String(a.crf),
    "-pix_fmt",
    "yuv420p",
  );
  if (a.audio) {
    if (a.duration !== "shortest") args.push("-af", "apad");
    args.push("-c:a", "aac", "-b:a", "192k", "-shortest");
  }
  const format = a.format ?? "mp4";
  if (format === "mp4") args.push("-movflags", "+faststart");
  args.push("-f", format, a.output);
  return args;
}

function encodeIntermediateArgs(a: EncodeVideoArgs, codec: "ffv1" | "rawvideo"): string[] {
  const pf = a.pixelFormat ?? "rgb24";
  const args = ["-hide_banner", "-nostdin", "-v", "error", "-y"];
  if (a.progress) args.push("-progress", a.progress, "-nostats");
  args.push("-f", "rawvideo", "-pix_fmt", pf, "-s", `${a.width}x${a.height}`);
  args.push("-framerate", a.fps, "-i", a.input, "-map", "0:v:0");
  if (codec === "ffv1") args.push("-c:v", "ffv1", "-level", "3", "-g", "1", "-slicecrc", "1");
  else args.push("-c:v", "rawvideo");
  args.push("-pix_fmt", a.stored ?? pf, "-f", a.format ?? "matroska", a.output);
  return args;
}

/** Concatenate same-codec video segments listed in `listFile` (concat demuxer), optionally muxing audio. */
export function concatArgs(
  listFile: string,
  output: string,
  audio?: string,
  duration: "video" | "shortest" = "video",
  /** Exact video length in seconds (frames / fps), to cut padded audio precisely. */
  videoS?: number,
  /** Output muxer: mp4 (default) or matroska for intermediates. */
  format: "mp4" | "matroska" = "mp4",
): string[] {
  const args = ["-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0"];
  args.push("-i", listFile);
  if (audio) args.push("-i", audio);
  args.push("-map", "0:v:0");
  if (audio) args.push("-map", "1:a:0");
  args.push("-c:v", "copy");
  if (audio) {
    if (duration !== "shortest") args.push("-af", "apad");
    args.push("-c:a", "aac", "-b:a", "192k", "-shortest");
    if (duration !== "shortest" && videoS !== undefined) args.push("-t", fmtSeconds(videoS));
  }
  if (format === "mp4") args.push("-movflags", "+faststart");
  args.push("-f", format, output);
  return args;
}

/** Copy the video stream of `video` and use `audio` as its only audio track. */
export function muxAudioArgs(
  video: string,
  audio: string,
  output: string,
  durationS?: number,
): string[] {
  const args = [
    "-hide_banner",
    "-nostdin",
    "-v",
    "error",
    "-y",
    "-i",
    video,
    "-i",
    audio,
    "-map",
    "0:v:0",
    "-map",
    "1:a:0",
    "-c:v",
    "copy",
    "-c:a",
    "aac",
    "-b:a",
    "192k",
  ];
  if (durationS !== undefined) args.push("-t", fmtSeconds(durationS));
  args.push("-movflags", "+faststart", "-f", "mp4", output);
  return args;
}

/** Seconds with microsecond precision, no exponent notation. */
export function fmtSeconds(s: number): string {
  return s.toFixed(6).replace(/\.?0+$/, "") || "0";
}
