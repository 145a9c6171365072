import assert from "node:assert/strict";
import { join } from "node:path";
import { tinyPrior } from "../../fixtures/tiny_prior.ts";
import { AudioPrior, PriorModelError } from "./prior.ts";

async function withModel(bytes: Uint8Array, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "prior.onnx");
    await Deno.writeFile(path, bytes);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("AudioPrior.load() accepts a model with a free time axis and finite outputs", async () => {
  await withModel(tinyPrior(), async (path) => {
    using prior = await AudioPrior.load(path);
    const y = await prior.predict(new Float32Array(30 * 80).fill(-4));
    assert.equal(y.length, 30 * 8);
    assert.ok(Math.abs(y[0]! - 0.25 * Math.sqrt(7)) < 1e-5);
  });
});

Deno.test("AudioPrior.load() names the model when its time axis is fixed", async () => {
  await withModel(tinyPrior({ fixedT: 64 }), async (path) => {
    await assert.rejects(
      () => AudioPrior.load(path),
      (e: Error) => {
        assert.ok(e instanceof PriorModelError);
        assert.match(
          e.message,
          /Audio prior ".*prior\.onnx" fails on a \[1, 97, 80\] input \(its time axis looks fixed\)/,
        );
        assert.match(e.message, /for any T/);
        return true;
      },
    );
  });
});

Deno.test("AudioPrior rejects NaN outputs at load and on every run, naming the model, frame and channel", async () => {
  await withModel(tinyPrior({ nanWeights: true }), async (path) => {
    await assert.rejects(
      () => AudioPrior.load(path),
      /Audio prior ".*prior\.onnx" produced NaN for channel "jaw_open" at frame 0 on a 64-frame probe input/,
    );
  });
  // Fine on the probes, NaN on a louder input (mel > 3) at frames 20..: caught at run time.
  await withModel(tinyPrior(), async (path) => {
    using prior = await AudioPrior.load(path);
    const mel = new Float32Array(40 * 80).fill(-4);
    mel.fill(5, 20 * 80);
    await assert.rejects(
      () => prior.predict(mel),
      /Audio prior ".*prior\.onnx" produced NaN for channel "jaw_open" at frame 20 of this clip/,
    );
  });
});
