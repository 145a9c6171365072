/** Checks and helpers shared by both media backends. */
import { MediaError } from "../errors.ts";
import type { ProbeResult } from "./types.ts";

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

/** Throw a RangeError if a frame handed to an encoder is not `width`×`height` RGB. */
export function assertFrameSize(frame: Uint8Array, width: number, height: number): void {
  const expected = rgbFrameBytes(width, height);
  if (frame.length !== expected) {
    throw new RangeError(
      `Frame has ${frame.length} bytes, expected ${expected} (${width}×${height} RGB)`,
    );
  }
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

/** Bytes per RGB24 frame. */
export const rgbFrameBytes = (w: number, h: number): number => w * h * 3;

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
