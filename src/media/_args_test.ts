import assert from "node:assert/strict";
import {
  concatArgs,
  decodeAudioArgs,
  decodeVideoArgs,
  encodeVideoArgs,
  fmtSeconds,
  muxAudioArgs,
  probeArgs,
} from "./_args.ts";
import {
  decodeArgsFor,
  decodedFrames,
  encodeArgsFor,
  fpsString,
  resolveVideoFormat,
} from "./_common.ts";
import type { VideoStreamInfo } from "./types.ts";
import type { DubError } from "../errors.ts";
import { parseProbe, parseRational } from "./_probe.ts";

Deno.test("probeArgs() asks ffprobe for JSON streams and format", () => {
  assert.deepEqual(probeArgs("a.mp4"), [
    "-v",
    "error",
    "-print_format",
    "json",
    "-show_format",
    "-show_streams",
    "a.mp4",
  ]);
});

Deno.test("decodeVideoArgs() seeks on the input side, scales, limits frames, emits rgb24", () => {
  assert.equal(
    decodeVideoArgs({
      input: "in.mp4",
      output: "pipe:1",
      startS: 1.98,
      maxFrames: 40,
      width: 200,
      height: 150,
    }).join(" "),
    "-hide_banner -nostdin -v error -ss 1.98 -i in.mp4 -map 0:v:0 -an -sn -dn -vf scale=200:150:flags=bicubic " +
      "-frames:v 40 -fps_mode passthrough -f rawvideo -pix_fmt rgb24 pipe:1",
  );
  assert.equal(
    decodeVideoArgs({ input: "in.mp4", output: "o.raw" }).join(" "),
    "-hide_banner -nostdin -v error -i in.mp4 -map 0:v:0 -an -sn -dn -fps_mode passthrough -f rawvideo -pix_fmt rgb24 o.raw",
  );
  assert.equal(
    decodeVideoArgs({ input: "in.mkv", output: "o.raw", streamIndex: 2, fps: "30000/1001" }).join(
      " ",
    ),
    "-hide_banner -nostdin -v error -i in.mkv -map 0:2 -an -sn -dn -fps_mode cfr -r 30000/1001 -f rawvideo -pix_fmt rgb24 o.raw",
  );
});

Deno.test("decodeAudioArgs() downmixes to mono float32 at the rate asked", () => {
  assert.equal(
    decodeAudioArgs("x.wav", 16000, "pipe:1").join(" "),
    "-hide_banner -nostdin -v error -i x.wav -map 0:a:0 -vn -ac 1 -ar 16000 -f f32le pipe:1",
  );
});

Deno.test("encodeVideoArgs() makes H.264 yuv420p, pads odd sizes, muxes audio", () => {
  assert.equal(
    encodeVideoArgs({
      input: "pipe:0",
      output: "o.mp4",
      width: 401,
      height: 300,
      fps: "30000/1001",
      crf: 18,
      preset: "medium",
      audio: "a.wav",
      duration: "shortest",
    }).join(" "),
    "-hide_banner -nostdin -v error -y -f rawvideo -pix_fmt rgb24 -s 401x300 -framerate 30000/1001 -i pipe:0 " +
      "-i a.wav -map 0:v:0 -map 1:a:0 -vf pad=ceil(iw/2)*2:ceil(ih/2)*2 -c:v libx264 -preset medium -crf 18 " +
      "-pix_fmt yuv420p -c:a aac -b:a 192k -shortest -movflags +faststart -f mp4 o.mp4",
  );
  // Default: keep the video's length — pad short audio, cut long audio.
  assert.match(
    encodeVideoArgs({
      input: "pipe:0",
      output: "o.mp4",
      width: 2,
      height: 2,
      fps: "25/1",
      crf: 18,
      preset: "fast",
      audio: "a.wav",
    })
      .join(" "),
    / -af apad -c:a aac -b:a 192k -shortest /,
  );
});

Deno.test("concatArgs() and muxAudioArgs() copy the video stream", () => {
  assert.equal(
    concatArgs("l.txt", "o.mp4").join(" "),
    "-hide_banner -nostdin -v error -y -f concat -safe 0 -i l.txt -map 0:v:0 -c:v copy -movflags +faststart -f mp4 o.mp4",
  );
  assert.equal(
    muxAudioArgs("v.mp4", "a.wav", "o.mp4", 2.5).join(" "),
    "-hide_banner -nostdin -v error -y -i v.mp4 -i a.wav -map 0:v:0 -map 1:a:0 -c:v copy -c:a aac -b:a 192k " +
      "-t 2.5 -movflags +faststart -f mp4 o.mp4",
  );
});

Deno.test("fmtSeconds(), fpsString() and parseRational() keep rates exact", () => {
  assert.equal(fmtSeconds(1.5), "1.5");
  assert.equal(fmtSeconds(2), "2");
  assert.equal(fmtSeconds(1e-7), "0");
  assert.equal(fpsString(29.97002997), "30000/1001");
  assert.equal(fpsString(23.976), "24000/1001");
  assert.equal(fpsString(25), "25/1");
  assert.equal(parseRational("30000/1001"), 30000 / 1001);
  assert.equal(parseRational("0/0"), 0);
});

Deno.test("parseProbe() applies display rotation and finds audio", () => {
  const j = {
    format: { duration: "2.0" },
    streams: [
      {
        index: 0,
        codec_type: "video",
        codec_name: "h264",
        width: 1920,
        height: 1080,
        avg_frame_rate: "30000/1001",
        nb_frames: "60",
        pix_fmt: "yuv420p",
        side_data_list: [{ rotation: -90 }],
      },
      {
        index: 1,
        codec_type: "audio",
        codec_name: "aac",
        sample_rate: "48000",
        channels: 2,
        duration: "2.0",
      },
    ],
  };
  const p = parseProbe("x.mp4", JSON.stringify(j));
  assert.equal(p.video?.width, 1080);
  assert.equal(p.video?.height, 1920);
  assert.equal(p.video?.rotationDeg, 90);
  assert.equal(p.video?.frameCount, 60);
  assert.equal(p.audio[0]?.sampleRateHz, 48000);
  assert.throws(() => parseProbe("y.mp4", "{}"), /not a media file/);
});

Deno.test("encodeVideoArgs() writes FFV1/raw intermediates in Matroska with the stored pixel format", () => {
  assert.equal(
    encodeVideoArgs({
      input: "pipe:0",
      output: "r.mkv",
      codec: "ffv1",
      pixelFormat: "rgba",
      stored: "bgra",
      width: 33,
      height: 21,
      fps: "25/1",
      crf: 18,
      preset: "medium",
    }).join(" "),
    "-hide_banner -nostdin -v error -y -f rawvideo -pix_fmt rgba -s 33x21 -framerate 25/1 -i pipe:0 " +
      "-map 0:v:0 -c:v ffv1 -level 3 -g 1 -slicecrc 1 -pix_fmt bgra -f matroska r.mkv",
  );
  assert.equal(
    encodeVideoArgs({
      input: "in.raw",
      output: "m.mkv",
      codec: "rawvideo",
      pixelFormat: "gray",
      width: 4,
      height: 2,
      fps: "30000/1001",
      crf: 18,
      preset: "medium",
    }).join(" "),
    "-hide_banner -nostdin -v error -y -f rawvideo -pix_fmt gray -s 4x2 -framerate 30000/1001 -i in.raw " +
      "-map 0:v:0 -c:v rawvideo -pix_fmt gray -f matroska m.mkv",
  );
  assert.equal(
    decodeVideoArgs({ input: "r.mkv", output: "pipe:1", pixelFormat: "rgba" }).join(" "),
    "-hide_banner -nostdin -v error -i r.mkv -map 0:v:0 -an -sn -dn -fps_mode passthrough -f rawvideo -pix_fmt rgba pipe:1",
  );
  assert.equal(
    concatArgs("l.txt", "o.mkv", undefined, "video", undefined, "matroska").join(" "),
    "-hide_banner -nostdin -v error -y -f concat -safe 0 -i l.txt -map 0:v:0 -c:v copy -f matroska o.mkv",
  );
});

Deno.test("resolveVideoFormat() accepts valid codec × pixel-format pairs and names them when not", () => {
  assert.deepEqual(resolveVideoFormat(), {
    codec: "h264",
    pixelFormat: "rgb24",
    stored: "yuv420p",
    container: "mp4",
    ext: ".mp4",
  });
  assert.equal(resolveVideoFormat("ffv1", "rgba", "x.mkv").stored, "bgra");
  assert.equal(resolveVideoFormat("ffv1", "gray").stored, "gray");
  assert.equal(resolveVideoFormat("ffv1", "rgb24").stored, "bgr0");
  assert.equal(resolveVideoFormat("rawvideo", "rgba").stored, "rgba");
  assert.throws(
    () => resolveVideoFormat("h264", "rgba"),
    /Video codec "h264" cannot store pixel format "rgba"/,
  );
  try {
    resolveVideoFormat("h264", "gray");
  } catch (e) {
    assert.match((e as DubError).hint ?? "", /h264\+rgb24, ffv1\+rgb24, ffv1\+rgba, ffv1\+gray/);
  }
  assert.throws(
    () => resolveVideoFormat("ffv1", "rgba", "x.mp4"),
    /ffv1 video goes in a \.mkv file/,
  );
  assert.throws(() => resolveVideoFormat("ffv1", "rgba", "x.mkv", true), /Cannot mux audio/);
  assert.throws(() => resolveVideoFormat("vp9" as "h264"), /Unknown video codec "vp9"/);
});

Deno.test("decodeArgsFor() re-times variable-rate streams, keeps the stream index and scales only with both sizes", () => {
  const info: VideoStreamInfo = {
    index: 2,
    codec: "h264",
    width: 400,
    height: 300,
    fps: 25,
    fpsRational: "25/1",
    frameCount: 10,
    frameCountExact: true,
    variableFrameRate: false,
    rotationDeg: 0,
    pixFmt: "yuv420p",
    durationS: 0.4,
  };
  const io = { input: "in.mp4", output: "pipe:1" };
  assert.deepEqual(decodeArgsFor(info, {}, io), { ...io, streamIndex: 2 });
  assert.deepEqual(
    decodeArgsFor({ ...info, variableFrameRate: true }, { width: 64 }, io),
    { ...io, streamIndex: 2, fps: "25/1" },
  );
  assert.deepEqual(
    decodeArgsFor(info, { fps: "30/1", width: 64, height: 48, pixelFormat: "gray", startS: 9 }, {
      ...io,
      startS: 1.5,
      maxFrames: 3,
    }),
    {
      ...io,
      pixelFormat: "gray",
      streamIndex: 2,
      fps: "30/1",
      startS: 1.5,
      maxFrames: 3,
      width: 64,
      height: 48,
    },
  );
  assert.deepEqual(decodedFrames(info, { pixelFormat: "rgba", width: 10, height: 4 }), {
    width: 10,
    height: 4,
    pixelFormat: "rgba",
    channels: 4,
    frameBytes: 160,
  });
});

Deno.test("encodeArgsFor() passes the codec only when it is not h264 and defaults crf 18, preset medium", () => {
  const opts = { width: 8, height: 6, fps: 25 };
  assert.deepEqual(encodeArgsFor(opts, resolveVideoFormat("h264", "rgb24"), "a.raw", "o.mp4"), {
    input: "a.raw",
    output: "o.mp4",
    width: 8,
    height: 6,
    fps: "25/1",
    crf: 18,
    preset: "medium",
  });
  const ffv1 = resolveVideoFormat("ffv1", "rgba");
  assert.deepEqual(encodeArgsFor({ ...opts, crf: 0, preset: "fast" }, ffv1, "pipe:0", "o.mkv"), {
    input: "pipe:0",
    output: "o.mkv",
    codec: "ffv1",
    pixelFormat: "rgba",
    stored: ffv1.stored,
    width: 8,
    height: 6,
    fps: "25/1",
    crf: 0,
    preset: "fast",
  });
});
