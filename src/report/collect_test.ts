import assert from "node:assert/strict";
import { join } from "node:path";
import { createStepReport, REPORT_DATA_KEY } from "./collect.ts";
import { readStepReport, seriesX } from "./data.ts";

const OUTPUTS = {
  video: { kind: "file", ext: "mp4", description: "v" },
  n: { kind: "value", description: "n" },
} as const;

Deno.test("createStepReport() stores series, metrics and files; finish() lists them for the manifest", async () => {
  const dir = await Deno.makeTempDir();
  const r = createStepReport(dir, OUTPUTS);
  const png = r.api.file("strip.png");
  await Deno.writeFile(png, new Uint8Array([1, 2, 3]));
  r.api.image("strip", { file: png, caption: "mouth" });
  r.api.image("out", { output: "video" });
  r.api.series("art", {
    title: "a",
    x: { unit: "s", start: 0, step: 0.04 },
    channels: { jaw: new Float32Array([0, 0.5, NaN]), lips: [1, 2, 3] },
    plot: "driving",
  });
  r.api.metric("psnr_db", 31.234567891, { unit: "dB", goal: { min: 30 }, key: true });
  r.api.metric("psnr_db", 32, { unit: "dB", goal: { min: 30 } }); // replaces
  // The declared output "video" was not written: its picture is dropped.
  const files = await r.finish({});
  assert.deepEqual(Object.keys(files).sort(), [REPORT_DATA_KEY, "report:strip.png"]);
  const loaded = await readStepReport(join(dir, files[REPORT_DATA_KEY]!), {});
  assert.ok(loaded);
  assert.deepEqual(loaded.images.map((i) => i.name), ["strip"]);
  assert.equal(loaded.images[0]!.path, png);
  assert.deepEqual(loaded.series[0]!.channels.jaw, [0, 0.5, null]);
  assert.deepEqual(seriesX(loaded.series[0]!), [0, 0.04, 0.08]);
  assert.deepEqual(loaded.metrics, [{ name: "psnr_db", value: 32, unit: "dB", goal: { min: 30 } }]);
});

Deno.test("createStepReport() rejects unequal channels, unknown outputs and foreign files", async () => {
  const dir = await Deno.makeTempDir();
  const r = createStepReport(dir, OUTPUTS);
  assert.throws(
    () =>
      r.api.series("s", {
        title: "t",
        x: { unit: "frame", start: 0, step: 1 },
        channels: { a: [1, 2], b: [1] },
      }),
    /equal length/,
  );
  assert.throws(
    () =>
      r.api.series("s", { title: "t", x: { unit: "frame", values: [0] }, channels: { a: [1, 2] } }),
    /1 x values for 2 samples/,
  );
  assert.throws(() => r.api.image("i", { output: "n" }), /no file output "n"/);
  assert.throws(() => r.api.image("i", { file: "/etc/passwd" }), /not made with ctx.report.file/);
  assert.throws(() => r.api.metric("bad name", 1), /must match/);
  r.api.image("i", { file: r.api.file("never.png") });
  await assert.rejects(() => r.finish({}), /"never.png" was declared but not written/);
  // Nothing declared: no report files at all.
  assert.deepEqual(await createStepReport(dir, OUTPUTS).finish({}), {});
});
