import assert from "node:assert/strict";
import { join } from "node:path";
import { NativeMedia } from "../media/_native.ts";
import { WasmMedia } from "../media/_wasm.ts";
import { nativeAvailable } from "../media/mod.ts";
import {
  openRenderMeta,
  readRenderFile,
  RenderFileError,
  type RenderFrame,
  renderPathsIn,
  renderToRgba,
  RenderWriter,
} from "./render_file.ts";

const HAVE_NATIVE = await nativeAvailable();
const W = 31, H = 17;

function frameData(k: number) {
  const rgba = new Uint8Array(W * H * 4).map((_, i) => (i * 13 + k * 7) & 255);
  const mask = new Uint8Array(W * H).map((_, i) => (i * 3 + k) & 255);
  const tracked = new Float32Array(936).map((_, i) => i * 0.25 + k);
  const driven = new Float32Array(936).map((_, i) => i * 0.5 - k);
  return { rgba, mask, trackedLandmarks: tracked, drivenLandmarks: driven };
}

Deno.test({
  name: "RenderWriter/readRenderFile() round-trip render, mask, landmarks and pass-through frames",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using wasm = new WasmMedia();
    const dir = await Deno.makeTempDir();
    try {
      const paths = renderPathsIn(dir);
      const w = await RenderWriter.open(wasm, paths, { width: W, height: H, fps: "25/1" });
      await w.write(frameData(0));
      await w.writePassThrough();
      await w.write(frameData(2));
      await w.close();
      assert.deepEqual(
        [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
        ["head_meta.safetensors", "head_mask.mkv", "head_render.mkv"].sort(),
      );
      const readers = HAVE_NATIVE ? [wasm, new NativeMedia()] : [wasm];
      for (const media of readers) {
        const got: RenderFrame[] = [];
        for await (
          const f of readRenderFile(media, paths, { width: W, height: H, frameCount: 3 })
        ) {
          got.push({
            ...f,
            rgba: f.rgba.slice(),
            mask: f.mask.slice(),
          });
        }
        assert.equal(got.length, 3);
        for (const k of [0, 2]) {
          const want = frameData(k);
          assert.equal(got[k]!.passThrough, false);
          assert.deepEqual(got[k]!.rgba, want.rgba, `${media.name} rgba ${k}`);
          assert.deepEqual(got[k]!.mask, want.mask);
          assert.deepEqual(got[k]!.trackedLandmarks, want.trackedLandmarks);
          assert.deepEqual(got[k]!.drivenLandmarks, want.drivenLandmarks);
        }
        assert.equal(got[1]!.passThrough, true);
        assert.ok(got[1]!.rgba.every((v) => v === 0) && got[1]!.mask.every((v) => v === 0));
        assert.ok(Number.isNaN(got[1]!.trackedLandmarks[0]));
      }
      const meta = await openRenderMeta(paths.meta);
      assert.deepEqual([meta.width, meta.height, meta.fps, meta.frameCount], [W, H, "25/1", 3]);
      meta.close();
      // Geometry mismatch and a truncated meta file are clear errors naming the file.
      await assert.rejects(
        async () => {
          for await (const _ of readRenderFile(wasm, paths, { width: 40, height: H })) { /* */ }
        },
        /is 31×17 but the footage is 40×17/,
      );
      const bytes = await Deno.readFile(paths.meta);
      const cut = join(dir, "cut.safetensors");
      await Deno.writeFile(cut, bytes.subarray(0, bytes.length - 100));
      await assert.rejects(() => openRenderMeta(cut), (e: Error) => {
        assert.ok(e instanceof RenderFileError);
        assert.match(
          e.message,
          /Cannot read ".*cut\.safetensors": tensor "driven_landmarks" is truncated/,
        );
        return true;
      });
      // An aborted writer leaves nothing behind.
      const other = renderPathsIn(join(dir, "sub"));
      await Deno.mkdir(join(dir, "sub"));
      const w2 = await RenderWriter.open(wasm, other, { width: W, height: H, fps: 25 });
      await w2.write(frameData(1));
      await w2.abort();
      assert.deepEqual([...Deno.readDirSync(join(dir, "sub"))], []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("renderToRgba() pastes a float crop into a transparent frame", () => {
  const rgb = new Float32Array(2 * 2 * 3).fill(0.5), alpha = new Float32Array([1, 0.5, 0, 1]);
  const out = renderToRgba(rgb, alpha, 4, 3, { x: 3, y: 1, w: 2, h: 2 });
  assert.deepEqual([...out.subarray((1 * 4 + 3) * 4, (1 * 4 + 3) * 4 + 4)], [128, 128, 128, 255]);
  assert.deepEqual([...out.subarray((2 * 4 + 3) * 4, (2 * 4 + 3) * 4 + 4)], [128, 128, 128, 0]);
  assert.equal(out.reduce((a, v) => a + (v ? 1 : 0), 0), 7); // the crop's right column is outside
});
