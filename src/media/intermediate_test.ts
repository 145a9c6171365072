/** Lossless intermediates (FFV1 / raw in Matroska) with 1, 3 and 4 channels on both backends. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { NativeMedia } from "./_native.ts";
import { WasmMedia } from "./_wasm.ts";
import { nativeAvailable } from "./mod.ts";
import type { MediaBackend, PixelFormat, VideoCodec } from "./types.ts";

const HAVE_NATIVE = await nativeAvailable();
if (!HAVE_NATIVE) {
  console.warn("native ffmpeg not on PATH: native cases skipped (apt-get install ffmpeg)");
}

const W = 33, H = 21, N = 7; // odd sizes: no padding may happen for intermediates
const CH: Record<PixelFormat, number> = { rgb24: 3, rgba: 4, gray: 1 };

/** Frame k: a per-channel pattern that uses all 256 values and differs per frame. */
function frame(k: number, c: number): Uint8Array {
  return new Uint8Array(W * H * c).map((_, i) => (i * 31 + k * 57 + (i % c) * 101) & 255);
}

const makers: [string, () => MediaBackend & AsyncDisposable, boolean][] = [
  // A chunk of 3 frames: the encode joins several FFV1 segments and the decode seeks per chunk.
  ["wasm", () => new WasmMedia(undefined, W * H * 4 * 3), false],
  [
    "native",
    () => Object.assign(new NativeMedia(), { [Symbol.asyncDispose]: () => Promise.resolve() }),
    !HAVE_NATIVE,
  ],
];

const cases: [VideoCodec, PixelFormat][] = [["ffv1", "rgba"], ["ffv1", "gray"], ["ffv1", "rgb24"], [
  "rawvideo",
  "rgba",
]];

for (const [name, make, skip] of makers) {
  Deno.test({
    name: `${name}: encodeVideo()/decodeVideo() round-trip FFV1 and raw frames bit-exactly`,
    ignore: skip,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await using media = make();
      const dir = await Deno.makeTempDir();
      try {
        for (const [codec, pixelFormat] of cases) {
          const out = join(dir, `${codec}_${pixelFormat}.mkv`);
          const w = await media.encodeVideo(out, {
            width: W,
            height: H,
            fps: 25,
            codec,
            pixelFormat,
          });
          for (let k = 0; k < N; k++) await w.write(frame(k, CH[pixelFormat]));
          await w.close();
          const probe = await media.probe(out);
          assert.equal(probe.video?.codec, codec);
          assert.equal(probe.video?.width, W);
          let k = 0;
          for await (const f of media.decodeVideo(out, { pixelFormat })) {
            assert.equal(f.channels, CH[pixelFormat]);
            assert.equal(f.index, k);
            assert.deepEqual(
              f.data,
              frame(k, CH[pixelFormat]),
              `${codec}+${pixelFormat} frame ${k}`,
            );
            k++;
          }
          assert.equal(k, N, `${codec}+${pixelFormat} frame count`);
        }
        // A gray file read as RGB replicates the gray value.
        const rgb = media.decodeVideo(join(dir, "ffv1_gray.mkv"), { maxFrames: 1 });
        for await (const f of rgb) {
          assert.equal(f.channels, 3);
          const g = frame(0, 1);
          for (let i = 0; i < W * H; i++) assert.equal(f.data[i * 3 + 1], g[i]);
        }
        // Wrong frame size and invalid pairs are refused before anything is written.
        const w = await media.encodeVideo(join(dir, "x.mkv"), {
          width: W,
          height: H,
          fps: 25,
          codec: "ffv1",
          pixelFormat: "rgba",
        });
        await assert.rejects(() => w.write(frame(0, 3)), /expected 2772 \(33×21 rgba\)/);
        await w.abort();
        await assert.rejects(
          () =>
            media.encodeVideo(join(dir, "y.mp4"), {
              width: W,
              height: H,
              fps: 25,
              pixelFormat: "rgba",
            }),
          /cannot store pixel format "rgba"/,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "an FFV1 RGBA file written by ffmpeg.wasm decodes bit-exactly with native ffmpeg",
  ignore: !HAVE_NATIVE,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using wasm = new WasmMedia();
    const native = new NativeMedia();
    const dir = await Deno.makeTempDir();
    try {
      const out = join(dir, "r.mkv");
      const w = await wasm.encodeVideo(out, {
        width: W,
        height: H,
        fps: "25/1",
        codec: "ffv1",
        pixelFormat: "rgba",
      });
      for (let k = 0; k < 3; k++) await w.write(frame(k, 4));
      await w.close();
      let k = 0;
      for await (const f of native.decodeVideo(out, { pixelFormat: "rgba" })) {
        assert.deepEqual(f.data, frame(k++, 4));
      }
      assert.equal(k, 3);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
