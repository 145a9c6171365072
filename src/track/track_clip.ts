/**
 * Track a whole clip: stream frames from a {@link MediaBackend}, track them, write
 * the face-track file and optionally the preview video and contact sheet. Memory
 * is bounded: one frame at a time, large arrays staged on disk.
 *
 * @module
 */
import type { MediaBackend } from "../media/types.ts";
import { ContactSheet, drawBox, drawMesh, drawPoseAxes, meshEdges } from "./draw.ts";
import { type TrackClipInfo, TrackWriter } from "./track_file.ts";
import { FaceTracker, type TrackerOptions } from "./tracker.ts";

export interface TrackClipOptions extends Omit<TrackerOptions, "fps"> {
  /** Where to write the face-track `.safetensors`. */
  outPath: string;
  /** Scratch directory for staged arrays. */
  tmpDir: string;
  startS?: number;
  maxFrames?: number;
  /** Also write a preview video (mesh + pose axes) and a PNG contact sheet. */
  preview?: { videoPath: string; sheetPath: string; sheetCount?: number };
  signal?: AbortSignal;
  onProgress?: (done: number, total: number | undefined) => void;
}

/** Track `videoPath` and write the outputs; returns the per-clip information. */
export async function trackClip(
  media: MediaBackend,
  videoPath: string,
  opts: TrackClipOptions,
): Promise<TrackClipInfo> {
  const probe = await media.probe(videoPath);
  const video = probe.video;
  if (!video) {
    throw new Error(`Cannot track "${videoPath}": no video stream found; pass a file with video`);
  }
  const fps = video.fps > 0 ? video.fps : 25;
  const { outPath, tmpDir, startS, maxFrames, preview, signal, onProgress, ...trackerOpts } = opts;
  let total: number | undefined = video.frameCount ??
    (video.durationS > 0 ? Math.round(video.durationS * fps) : undefined);
  if (total !== undefined && startS) total = Math.max(0, total - Math.round(startS * fps));
  if (total !== undefined && maxFrames !== undefined) total = Math.min(total, maxFrames);
  using tracker = await FaceTracker.create({ ...trackerOpts, fps });
  const writer = await TrackWriter.create(outPath, tmpDir, tracker.mesh);
  const edges = preview ? meshEdges(tracker.mesh.triangles) : null;
  const sheetCount = preview?.sheetCount ?? 12;
  const sheetFrames = new Set<number>();
  if (preview && total) {
    for (let k = 0; k < sheetCount; k++) {
      sheetFrames.add(Math.floor(((k + 0.5) * total) / sheetCount));
    }
  }
  let sheet: ContactSheet | null = null;
  let encoder: Awaited<ReturnType<MediaBackend["encodeVideo"]>> | null = null;
  let width = video.width, height = video.height;
  let done = 0;
  try {
    const decodeOpts: Parameters<MediaBackend["decodeVideo"]>[1] = {};
    if (startS !== undefined) decodeOpts.startS = startS;
    if (maxFrames !== undefined) decodeOpts.maxFrames = maxFrames;
    if (signal) decodeOpts.signal = signal;
    for await (const frame of media.decodeVideo(videoPath, decodeOpts)) {
      signal?.throwIfAborted();
      width = frame.width;
      height = frame.height;
      const ft = await tracker.track(frame);
      await writer.add(ft);
      if (preview && edges) {
        const img = frame.data;
        if (ft.found && ft.landmarks && ft.pose) {
          drawMesh(img, width, height, ft.landmarks, edges);
          drawPoseAxes(img, width, height, ft.pose);
        } else if (ft.box) drawBox(img, width, height, ft.box, [255, 60, 60]);
        encoder ??= await media.encodeVideo(preview.videoPath, {
          width,
          height,
          fps: video.fpsRational || fps,
          crf: 23,
          preset: "veryfast",
          ...(signal ? { signal } : {}),
        });
        await encoder.write(img);
        if (sheetFrames.has(done) || (sheetFrames.size === 0 && done < sheetCount)) {
          sheet ??= new ContactSheet(sheetFrames.size || sheetCount, 4, width, height);
          sheet.add(img, width, height);
        }
      }
      done++;
      onProgress?.(done, total);
    }
    if (encoder) await encoder.close();
    encoder = null;
    if (preview) {
      sheet ??= new ContactSheet(1, 1, width, height);
      await Deno.writeFile(preview.sheetPath, sheet.toPng());
    }
    if (done === 0) {
      throw new Error(`Cannot track "${videoPath}": no frames decoded; check startS/maxFrames`);
    }
    const speaker = opts.speaker ?? "largest";
    return await writer.close({
      fps,
      width,
      height,
      speaker: Array.isArray(speaker) ? [...speaker] : speaker,
      warnings: [...tracker.warnings],
    });
  } catch (e) {
    await encoder?.abort().catch(() => {});
    await writer.abort();
    throw e;
  }
}
