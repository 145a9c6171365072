/**
 * Media I/O behind one interface: the native `ffmpeg`/`ffprobe` when found on
 * PATH, the embedded ffmpeg.wasm otherwise (`--media native|wasm|auto`).
 *
 * @module
 */
import { MediaError } from "../errors.ts";
import { NativeMedia } from "./_native.ts";
import { type LogFn, which } from "./_process.ts";
import { WasmMedia } from "./_wasm.ts";
import type { MediaBackend } from "./types.ts";

export type * from "./types.ts";
export { decodeWav, encodeWav } from "./wav.ts";
export { checkFrameCount, requireVideo } from "./_common.ts";

export type MediaChoice = "auto" | "native" | "wasm";

/** Is the native ffmpeg usable (both ffmpeg and ffprobe on PATH)? */
export async function nativeAvailable(): Promise<boolean> {
  return (await which("ffmpeg")) && (await which("ffprobe"));
}

/** Open a media backend. `auto` prefers native ffmpeg when it is on PATH. */
export async function openMedia(
  opts: { backend?: MediaChoice; log?: LogFn } = {},
): Promise<MediaBackend & AsyncDisposable> {
  const choice = opts.backend ?? "auto";
  if (choice === "native" || (choice === "auto" && (await nativeAvailable()))) {
    if (choice === "native" && !(await nativeAvailable())) {
      throw new MediaError(
        "Native ffmpeg was requested but ffmpeg/ffprobe are not on PATH",
        {
          hint: "install ffmpeg (e.g. apt-get install ffmpeg) or use --media wasm",
        },
      );
    }
    const m = new NativeMedia(opts.log);
    return Object.assign(m, { [Symbol.asyncDispose]: () => Promise.resolve() });
  }
  return new WasmMedia(opts.log);
}
