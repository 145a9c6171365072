/**
 * The step cache follows the code: a step's key holds a hash of its stage module
 * and the local files it imports (`src/workflow/code_hash.ts`), so changed code
 * re-runs the step without a version bump, while unchanged code (any checkout) and
 * files the stage does not import keep the cache warm.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { openMedia } from "../src/media/mod.ts";
import { clipJobId } from "../src/worker/job.ts";
import { clipJobs } from "../src/workflow/jobs.ts";
import { STAGES } from "../src/stages/mod.ts";
import { hashModuleTree } from "../src/workflow/code_hash.ts";
import { parseWorkflow } from "../src/workflow/load.ts";
import { planWorkflow } from "../src/workflow/plan.ts";
import { stageRegistry } from "../src/workflow/registry.ts";
import { type RunEvent, runWorkflow } from "../src/workflow/run.ts";
import { defineStage } from "../src/workflow/stage.ts";
import { REPO_ROOT as REPO } from "../fixtures/mod.ts";
import { mediaTest, withTempDir } from "./_helpers.ts";

/** Copy the folder `src` into `dest` (files and sub-folders). */
async function copyTree(src: string, dest: string): Promise<void> {
  await Deno.mkdir(dest, { recursive: true });
  for await (const e of Deno.readDir(src)) {
    if (e.isDirectory) await copyTree(join(src, e.name), join(dest, e.name));
    else if (e.isFile) await Deno.copyFile(join(src, e.name), join(dest, e.name));
  }
}

/** A stage's sources as files: the stage module, a helper it imports, a file it does not. */
const SOURCES: Record<string, string> = {
  "stages/echo.ts": `import { shout } from "../lib/shout.ts";\nexport default shout;\n`,
  "lib/shout.ts": `export const shout = (s: string) => s.toUpperCase();\n`,
  "lib/unused.ts": `export const unused = 1;\n`,
};

async function writeSources(dir: string, edits: Record<string, string> = {}): Promise<string> {
  for (const [p, text] of Object.entries({ ...SOURCES, ...edits })) {
    await Deno.mkdir(dirname(join(dir, p)), { recursive: true });
    await Deno.writeTextFile(join(dir, p), text);
  }
  return pathToFileURL(join(dir, "stages", "echo.ts")).href;
}

/** The one-step workflow of these tests. */
const ECHO_WF = `version: 1\nsteps:\n  - id: e\n    uses: test.echo\n    with: { text: hi }\n`;

/**
 * A one-step workflow (`dir/wf.yaml`) over the step type `test.echo`, whose code is
 * said to be `module` (a file written by the test); `onRun` is called per run.
 */
function echoWorkflow(dir: string, module: string, onRun = () => {}) {
  const echo = defineStage({
    type: "test.echo",
    version: 1,
    module,
    description: "Upper-cases a text (its module is a file written by the test)",
    params: z.strictObject({ text: z.string() }),
    fileParams: [],
    outputs: { text: { kind: "value", description: "the text, upper-cased" } },
    run(_ctx, p) {
      onRun();
      return Promise.resolve({ values: { text: p.text.toUpperCase() } });
    },
  });
  return parseWorkflow(join(dir, "wf.yaml"), ECHO_WF, {
    registry: stageRegistry([echo]),
    sets: [],
  });
}

mediaTest(
  "runWorkflow(): a changed helper of a stage re-runs its step; unchanged code elsewhere and an unrelated file stay cached",
  async () => {
    await using media = await openMedia();
    await withTempDir(async (dir) => {
      let runs = 0;
      const cacheDir = join(dir, "cache");
      const parse = (module: string) => echoWorkflow(dir, module, () => runs++);
      const run = async (module: string) => {
        const events: RunEvent[] = [];
        const report = await runWorkflow(parse(module), {
          cacheDir,
          media,
          reportHtml: false,
          onEvent: (e) => events.push(e),
        });
        assert.equal(report.clips[0]!.status, "ok", String(report.clips[0]!.error));
        const end = events.find((e) => e.type === "step_end") as { status: string; key: string };
        return end;
      };
      const original = await writeSources(join(dir, "a"));
      const first = await run(original);
      assert.equal(first.status, "ran");
      // Warm re-run, same code: a hit.
      assert.equal((await run(original)).status, "cached");
      // The same code in another folder (another checkout): the same key, a hit.
      const copy = await writeSources(join(dir, "b"));
      const again = await run(copy);
      assert.deepEqual([again.status, again.key], ["cached", first.key]);
      // A file the stage does not import changed: still a hit.
      const unrelated = await writeSources(join(dir, "c"), {
        "lib/unused.ts": `export const unused = 2;\n`,
      });
      assert.equal((await run(unrelated)).status, "cached");
      // The helper the stage imports changed: `dub plan` says why, the step runs again.
      const edited = await writeSources(join(dir, "d"), {
        "lib/shout.ts": `export const shout = (s: string) => s.toUpperCase() + "!";\n`,
      });
      const plan = await planWorkflow(parse(edited), { cacheDir });
      assert.equal(plan[0]!.steps[0]!.status, "run");
      assert.match(plan[0]!.steps[0]!.reason, /the code of "test\.echo" changed/);
      const changed = await run(edited);
      assert.equal(changed.status, "ran");
      assert.notEqual(changed.key, first.key);
      assert.equal(runs, 2);
      // Sources that cannot be read (a remote module): the version alone keys the step.
      const remote = await run("https://example.org/dub/src/stages/echo.ts");
      assert.equal(remote.status, "ran");
      assert.equal(runs, 3);
    });
  },
);

Deno.test("every built-in step type names its own module, so its code is in its cache key", async () => {
  for (const s of STAGES) {
    assert.ok(s.module, `${s.type} declares no module`);
    const file = fileURLToPath(s.module);
    assert.equal(relative(join(REPO, "src", "stages"), dirname(file)), "", `${s.type}: ${file}`);
    const h = await hashModuleTree(s.module);
    assert.ok(h, `${s.type}: its code cannot be hashed`);
    assert.ok(h.files.includes(file.split("/").pop()!), `${s.type}: its own file is hashed`);
  }
});

Deno.test("a change to the mouth map re-keys head.render and speaker.adapt, not media.probe; a file they do not import re-keys nothing", async () => {
  await withTempDir(async (dir) => {
    const hashes = async (name: string, edits: Record<string, string> = {}) => {
      const root = join(dir, name);
      await copyTree(join(REPO, "src"), join(root, "src"));
      for (const [p, text] of Object.entries(edits)) {
        await Deno.writeTextFile(join(root, "src", p), text);
      }
      const out: Record<string, string> = {};
      for (const s of STAGES) {
        const rel = relative(REPO, fileURLToPath(s.module!));
        out[s.type] = (await hashModuleTree(pathToFileURL(join(root, rel))))!.hash;
      }
      return out;
    };
    const mouthMap = "head/mouth_map.ts";
    const base = await hashes("base");
    const text = await Deno.readTextFile(join(REPO, "src", mouthMap));
    const edited = await hashes("edited", { [mouthMap]: text + "\n// changed\n" });
    for (const t of ["head.render", "speaker.adapt"]) {
      assert.notEqual(edited[t], base[t], `${t} imports the mouth map`);
    }
    for (const t of ["media.probe", "audio.replace", "video.encode"]) {
      assert.equal(edited[t], base[t], `${t} does not import the mouth map`);
    }
    // A file no built-in stage imports (a training script).
    const script = "train/head/eval.ts";
    const other = await hashes("other", {
      [script]: (await Deno.readTextFile(join(REPO, "src", script))) + "\n// changed\n",
    });
    assert.deepEqual(other, base);
  });
});

Deno.test("clipJobId(): a batch re-submitted after a stage's code changed is a new queue job; the same code elsewhere is the same job", async () => {
  await withTempDir(async (dir) => {
    const idWith = async (module: string) => {
      const wf = echoWorkflow(dir, module);
      const [clip] = await clipJobs(wf);
      return await clipJobId(wf, ECHO_WF, [], clip!);
    };
    const a = await idWith(await writeSources(join(dir, "a")));
    assert.equal(await idWith(await writeSources(join(dir, "b"))), a);
    const edited = await writeSources(join(dir, "d"), {
      "lib/shout.ts": `export const shout = (s: string) => s.toLowerCase();\n`,
    });
    assert.notEqual(await idWith(edited), a);
  });
});
