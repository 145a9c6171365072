/** Turn ffprobe's JSON into a {@link ProbeResult} (shared by both backends). */
import { MediaError } from "../errors.ts";
import type { AudioStreamInfo, ProbeResult, VideoStreamInfo } from "./types.ts";

/** Parse "num/den" to a number; 0 for "0/0" or garbage. */
export function parseRational(r: string | undefined): number {
  if (!r) return 0;
  const [n, d] = r.split("/").map(Number);
  if (d === undefined) return Number.isFinite(n) ? n! : 0;
  if (!Number.isFinite(n) || !Number.isFinite(d) || d === 0) return 0;
  return n! / d;
}

/** "HH:MM:SS.fff" (Matroska DURATION tag) to seconds; 0 if absent. */
function tagDuration(s: Json): number {
  const t = s.tags?.DURATION ?? s.tags?.duration;
  const m = typeof t === "string" ? /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(t) : null;
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : 0;
}

const num = (v: unknown): number => {
  const x = typeof v === "string" ? parseFloat(v) : typeof v === "number" ? v : NaN;
  return Number.isFinite(x) ? x : 0;
};

// deno-lint-ignore no-explicit-any
type Json = any;

function rotationOf(s: Json): number {
  let rot = 0;
  if (s.tags?.rotate !== undefined) rot = num(s.tags.rotate);
  for (const sd of s.side_data_list ?? []) {
    if (sd.rotation !== undefined) rot = -num(sd.rotation);
  }
  return ((Math.round(rot / 90) * 90) % 360 + 360) % 360;
}

/** Interpret ffprobe `-show_format -show_streams` JSON output. */
export function parseProbe(path: string, jsonText: string): ProbeResult {
  let j: Json;
  try {
    j = JSON.parse(jsonText);
  } catch {
    throw new MediaError(`Cannot read "${path}": ffprobe output is not JSON`, {
      hint: "check the file is a media file ffmpeg can open",
    });
  }
  const streams: Json[] = j.streams ?? [];
  if (!j.format && streams.length === 0) {
    throw new MediaError(
      `Cannot read "${path}": not a media file or it is corrupt`,
      {
        hint: "pass a video (mp4, mov, mkv…) or audio (wav, mp3, aac…) file that plays",
      },
    );
  }
  const formatDuration = num(j.format?.duration);
  let video: VideoStreamInfo | null = null;
  const audio: AudioStreamInfo[] = [];
  for (const s of streams) {
    if (
      s.codec_type === "video" && !video && s.disposition?.attached_pic !== 1
    ) {
      const rot = rotationOf(s);
      const fpsRational: string = s.avg_frame_rate && s.avg_frame_rate !== "0/0"
        ? s.avg_frame_rate
        : s.r_frame_rate ?? "0/0";
      const fps = parseRational(fpsRational);
      const streamDuration = num(s.duration) || tagDuration(s);
      const durationS = streamDuration || formatDuration;
      const nb = num(s.nb_frames);
      const w = num(s.width);
      const h = num(s.height);
      const swap = rot === 90 || rot === 270;
      video = {
        index: num(s.index),
        codec: String(s.codec_name ?? "unknown"),
        width: swap ? h : w,
        height: swap ? w : h,
        fps,
        fpsRational,
        frameCount: nb > 0 ? nb : (fps > 0 && durationS > 0 ? Math.round(durationS * fps) : null),
        frameCountExact: nb > 0,
        variableFrameRate: !!s.r_frame_rate && !!s.avg_frame_rate && s.avg_frame_rate !== "0/0" &&
          Math.abs(parseRational(s.r_frame_rate) - fps) > 0.01 * fps,
        rotationDeg: rot,
        pixFmt: String(s.pix_fmt ?? "unknown"),
        durationS,
      };
    } else if (s.codec_type === "audio") {
      audio.push({
        index: num(s.index),
        codec: String(s.codec_name ?? "unknown"),
        sampleRateHz: num(s.sample_rate),
        channels: num(s.channels),
        durationS: num(s.duration) || tagDuration(s) || formatDuration,
      });
    }
  }
  return {
    path,
    durationS: formatDuration || video?.durationS || audio[0]?.durationS || 0,
    video,
    audio,
  };
}
