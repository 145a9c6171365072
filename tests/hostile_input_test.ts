/**
 * Hostile and broken input, run as a user would (the `dub` CLI): every case ends
 * quickly with a clear error naming the file and what to do, the documented exit
 * code, and no stack trace (unless --verbose).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { demoSpeechPath, shortClipPath } from "../fixtures/mod.ts";
import { openMedia } from "../src/media/mod.ts";
import { tinyPrior } from "../fixtures/tiny_prior.ts";
import { committed, dub, dubWorkflow, listDir, mediaTest, withTempDir } from "./_helpers.ts";

const media = await openMedia();
const clip = await shortClipPath(media, 2);
const speech = await demoSpeechPath();
await media[Symbol.asyncDispose]?.();

const noTrace = (r: { stderr: string }, what: string) =>
  assert.doesNotMatch(r.stderr, /\s+at .*\.ts:\d+/, `${what}: no stack trace`);

mediaTest(
  "dub run: devices, FIFOs, sockets, folders and empty paths as inputs are refused before any step (exit 2/3, no hang)",
  async () => {
    await withTempDir(async (dir) => {
      const wf = join(dir, "wf.yaml");
      await Deno.writeTextFile(wf, dubWorkflow({ footage: clip, dialogue: speech }));
      const fifo = join(dir, "pipe.wav");
      await new Deno.Command("mkfifo", { args: [fifo] }).output();
      const sock = join(dir, "sock.wav");
      const listener = Deno.listen({ transport: "unix", path: sock });
      const cache = join(dir, "cache");
      const cases: [string, string[], number, RegExp][] = [
        [
          "/dev/zero as the dialogue",
          ["--set", "dialogue=/dev/zero"],
          3,
          /Cannot read input "dialogue" "\/dev\/zero": it is a character device, not a regular file\nhint: /,
        ],
        ["a FIFO", ["--set", `dialogue=${fifo}`], 3, /pipe\.wav": it is a FIFO \(named pipe\)/],
        ["a socket", ["--set", `dialogue=${sock}`], 3, /sock\.wav": it is a socket/],
        ["a folder", ["--set", `footage=${dir}`], 3, /it is a folder, not a regular file/],
        [
          "an empty --set",
          ["--set", "footage="],
          2,
          /Input "footage" is an empty path\nhint: pass a file: --set footage=PATH/,
        ],
      ];
      try {
        for (const [what, args, code, want] of cases) {
          const r = await dub([wf, "--cache-dir", cache, ...args]);
          assert.equal(r.code, code, `${what}: ${r.stderr}`);
          assert.match(r.stderr, want, `${what}: ${r.stderr}`);
          noTrace(r, what);
        }
      } finally {
        listener.close();
      }
      assert.deepEqual(listDir(join(cache, "steps")), [], "no step ran");
    });
  },
);

Deno.test("dub validate/run: hostile workflow files (alias bombs, huge, multi-document, devices) fail fast with exit 2 and file:line:col", async () => {
  await withTempDir(async (dir) => {
    const write = async (name: string, text: string) => {
      await Deno.writeTextFile(join(dir, name), text);
      return join(dir, name);
    };
    // Many aliases (each level refers to the previous one 10 times).
    const wide = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 10; i++) {
      wide.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]`);
    }
    wide.push("steps: *a9");
    // Few aliases that still expand to 9^6 ≈ 531 441 nodes.
    const deep = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 7; i++) {
      deep.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]`);
    }
    deep.push("steps: *a6");
    const many = ["version: 1", "inputs:"];
    for (let i = 0; i < 30000; i++) many.push(`  k${i}: ${i}`);
    const fifo = join(dir, "fifo.yaml");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const cases: [string, string, RegExp][] = [
      [
        "many aliases",
        await write("wide.yaml", wide.join("\n") + "\n"),
        /wide\.yaml:\d+:\d+: too many YAML aliases \(91; the limit is 64\)\nhint: /,
      ],
      [
        "an alias bomb",
        await write("deep.yaml", deep.join("\n") + "\n"),
        /deep\.yaml:3:\d+: YAML aliases expand to too much data .*\nhint: /,
      ],
      [
        "a huge file",
        await write("many.yaml", many.join("\n") + "\n"),
        /many\.yaml: the workflow file is \d+ bytes; the limit is 262144\nhint: /,
      ],
      [
        "two documents",
        await write("multi.yaml", "version: 1\nsteps: []\n---\nversion: 1\n"),
        /multi\.yaml:3:1: a workflow file holds one YAML document; remove this `---`/,
      ],
      [
        "a duplicate key",
        await write("dup.yaml", "version: 1\nversion: 1\n"),
        /dup\.yaml:2:1: duplicate key "version"/,
      ],
      ["/dev/zero", "/dev/zero", /Cannot read workflow "\/dev\/zero": it is not a regular file/],
      ["a FIFO", fifo, /Cannot read workflow ".*fifo\.yaml": it is not a regular file/],
    ];
    for (const [what, file, want] of cases) {
      for (const cmd of [["validate", file], ["run", file]]) {
        const r = await dub(cmd);
        assert.equal(r.code, 2, `${what} (${cmd[0]}): ${r.stderr}`);
        assert.match(r.stderr, want, `${what} (${cmd[0]})`);
        noTrace(r, what);
        assert.doesNotMatch(r.stderr, /parseAllDocuments|ReferenceError/, what);
      }
    }
  });
});

Deno.test("dub splat: empty scenes, oversized cameras, devices and unwritable outputs give clear errors (exit 2/3), never a trace", async () => {
  await withTempDir(async (dir) => {
    const ply = committed("tiny.ply");
    const cams = committed("cameras.json");
    // An empty scene: tiny.ply's header with 0 vertices and no data.
    const bytes = await Deno.readFile(ply);
    const text = new TextDecoder("latin1").decode(bytes);
    const headerEnd = text.indexOf("end_header\n") + "end_header\n".length;
    const empty = join(dir, "empty.ply");
    await Deno.writeTextFile(
      empty,
      text.slice(0, headerEnd).replace(/element vertex \d+/, "element vertex 0"),
    );
    // A camera far beyond any real capture.
    const huge = join(dir, "huge.json");
    const cam = JSON.parse(await Deno.readTextFile(cams))[0];
    await Deno.writeTextFile(huge, JSON.stringify([{ ...cam, width: 200000, height: 200000 }]));
    const file = join(dir, "a-file");
    await Deno.writeTextFile(file, "x");
    const render = (scene: string, camera: string, out: string) =>
      dub(["splat", "render", scene, "--camera", camera, "--out", out, "--backend", "cpu"]);
    const cases: [string, Promise<{ code: number; stderr: string }>, number, RegExp][] = [
      [
        "info on 0 vertices",
        dub(["splat", "info", empty]),
        3,
        /Cannot use ".*empty\.ply": the scene has 0 Gaussians.*\nhint: /,
      ],
      [
        "render of 0 vertices",
        render(empty, cams, join(dir, "o.png")),
        3,
        /the scene has 0 Gaussians/,
      ],
      [
        "a 200000×200000 camera",
        render(ply, huge, join(dir, "o.png")),
        3,
        /Cannot read camera ".*huge\.json\[0\]": the image would be 200000×200000; the limit is 16384 px a side/,
      ],
      ["/dev/zero as the scene", dub(["splat", "info", "/dev/zero"]), 3, /not a regular file/],
      [
        "/dev/zero as the cameras",
        render(ply, "/dev/zero", join(dir, "o.png")),
        3,
        /not a regular file/,
      ],
      [
        "an output below a file",
        render(ply, cams, join(file, "o.png")),
        2,
        /Cannot write output image \(--out\) ".*o\.png": ".*a-file" is a file, not a folder/,
      ],
    ];
    for (const [what, run, code, want] of cases) {
      const r = await run;
      assert.equal(r.code, code, `${what}: ${r.stderr}`);
      assert.match(r.stderr, want, what);
      noTrace(r, what);
    }
    // A missing output folder is created.
    const ok = await render(ply, cams, join(dir, "new", "deep", "o.png"));
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(Deno.statSync(join(dir, "new", "deep", "o.png")).isFile);
  });
});

mediaTest(
  "dub run: a prior model that outputs NaN or has a fixed time axis fails the step naming the model (exit 3), nothing written",
  async () => {
    await withTempDir(async (dir) => {
      const cases: [string, Uint8Array, RegExp][] = [
        ["NaN", tinyPrior({ nanWeights: true }), /produced NaN for channel "jaw_open"/],
        ["fixed T", tinyPrior({ fixedT: 64 }), /its time axis looks fixed/],
      ];
      for (const [what, bytes, want] of cases) {
        const model = join(dir, `prior_${what.replace(" ", "_")}.onnx`);
        await Deno.writeFile(model, bytes);
        const wf = join(dir, "wf.yaml");
        await Deno.writeTextFile(
          wf,
          `version: 1
steps:
  - id: feat
    uses: audio.features
    with: { audio: ${JSON.stringify(speech)} }
  - id: lips
    uses: lipsync.expression
    with: { features: "\${{ steps.feat.outputs.features }}", fps: 25, model: ${
            JSON.stringify(model)
          } }
outputs:
  lips: { from: "\${{ steps.lips.outputs.articulation }}", path: out/lips.safetensors }
`,
        );
        const r = await dub([wf, "--cache-dir", join(dir, "cache"), "--no-report-html"]);
        assert.equal(r.code, 3, `${what}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`Audio prior ".*${model.split("/").pop()}"`), what);
        assert.match(r.stderr, want, what);
        noTrace(r, what);
        assert.deepEqual(listDir(join(dir, "out")), [], `${what}: nothing written`);
      }
    });
  },
);
