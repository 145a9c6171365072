/**
 * The media interface shared by both backends (native ffmpeg and ffmpeg.wasm).
 * Stage code only ever sees {@link MediaBackend}.
 */

/** What `probe()` reports about a media file. */
export interface ProbeResult {
  path: string;
  /** Container duration in seconds (0 if unknown). */
  durationS: number;
  video: VideoStreamInfo | null;
  audio: AudioStreamInfo[];
}

export interface VideoStreamInfo {
  index: number;
  codec: string;
  width: number;
  height: number;
  /** Average frame rate, frames per second (e.g. 25, 29.97). */
  fps: number;
  /** Frame rate as a rational "num/den" string, as ffmpeg reports it. */
  fpsRational: string;
  /** Number of frames if known (from the container, or estimated from duration × fps), else null. */
  frameCount: number | null;
  /** True when `frameCount` is the container's own count, not an estimate. */
  frameCountExact: boolean;
  /** The stream's nominal and average rates differ: frames are re-timed to a constant rate on decode. */
  variableFrameRate: boolean;
  /** Display rotation in degrees (0, 90, 180, 270). */
  rotationDeg: number;
  pixFmt: string;
  durationS: number;
}

export interface AudioStreamInfo {
  index: number;
  codec: string;
  sampleRateHz: number;
  channels: number;
  durationS: number;
}

/**
 * Pixel layout of raw frames exchanged with the media layer (the names are
 * ffmpeg's): `rgb24` = `[H, W, 3]`, `rgba` = `[H, W, 4]` (straight alpha),
 * `gray` = `[H, W]`, all uint8.
 */
export type PixelFormat = "rgb24" | "rgba" | "gray";

/**
 * Video codec of an encoded file. `h264` (lossy, yuv420p, `.mp4`) for delivery;
 * `ffv1` (lossless, `.mkv`) and `rawvideo` (uncompressed frames, `.mkv`) for
 * intermediates. Valid codec × pixel-format pairs: see `VIDEO_FORMATS` in `_common.ts`.
 */
export type VideoCodec = "h264" | "ffv1" | "rawvideo";

/**
 * One decoded frame. `data` is `[height, width, channels]` uint8, row-major; it may
 * be a view into a larger buffer (respect `byteOffset`), and is not reused by the decoder.
 */
export interface Frame {
  index: number;
  /** Presentation time in seconds (index / fps). */
  timeS: number;
  width: number;
  height: number;
  /** Channels per pixel: 3 (rgb24) when absent, 4 (rgba) or 1 (gray). */
  channels?: 1 | 3 | 4;
  data: Uint8Array;
}

export interface DecodeVideoOptions {
  /** Re-time to this constant rate (rational); variable-rate streams are re-timed to their average rate by default. */
  fps?: string;
  /** Optional output size; default is the native size (rotation applied). */
  width?: number;
  height?: number;
  /** Start time in seconds. */
  startS?: number;
  /** Maximum number of frames to decode. */
  maxFrames?: number;
  /** Layout of the frames produced (default `rgb24`). */
  pixelFormat?: PixelFormat;
  signal?: AbortSignal;
}

export interface EncodeVideoOptions {
  width: number;
  height: number;
  /** Frame rate as a rational string ("25/1", "30000/1001") or a number. */
  fps: string | number;
  /** Codec (default `h264`); validated together with `pixelFormat`. */
  codec?: VideoCodec;
  /** Layout of the frames handed to `write()` (default `rgb24`). */
  pixelFormat?: PixelFormat;
  /** x264 constant rate factor, 0–51 (default 18). */
  crf?: number;
  /** x264 preset (default "medium"). */
  preset?: string;
  /** Optional audio to mux in (h264 only): a file path (any format ffmpeg reads). */
  audioPath?: string;
  /**
   * Length policy with audio: "video" (default) keeps the video's length (short audio
   * padded with silence, long audio cut), "shortest" stops at the shorter stream.
   */
  duration?: "video" | "shortest";
  signal?: AbortSignal;
}

/** A writable stream of frames; `close()` finishes the file, `abort()` discards it. */
export interface FrameWriter {
  write(frame: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

export interface MediaBackend {
  readonly name: "native" | "wasm";
  probe(path: string): Promise<ProbeResult>;
  /** Stream frames (RGB by default); memory stays bounded regardless of clip length. */
  decodeVideo(path: string, opts?: DecodeVideoOptions): AsyncIterable<Frame>;
  /** Decode the first audio stream to mono float32 at `sampleRateHz`. */
  decodeAudio(
    path: string,
    sampleRateHz: number,
    signal?: AbortSignal,
  ): Promise<Float32Array>;
  /**
   * Encode frames at `outPath` (written directly; callers use temp names): H.264/yuv420p
   * mp4 by default, or a lossless/raw `.mkv` per `opts.codec` and `opts.pixelFormat`.
   */
  encodeVideo(outPath: string, opts: EncodeVideoOptions): Promise<FrameWriter>;
  /** Copy the video stream of `videoPath` and put `audioPath` in as the only audio track. */
  muxAudio(
    videoPath: string,
    audioPath: string,
    outPath: string,
    opts?: { durationS?: number; signal?: AbortSignal },
  ): Promise<void>;
  [Symbol.asyncDispose]?(): Promise<void>;
}
