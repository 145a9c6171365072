import assert from "node:assert/strict";
import { join } from "node:path";
import { DubError } from "../errors.ts";
import { parseWorkflow } from "../workflow/load.ts";
import { PathRoots } from "./roots.ts";
import { checkJobPaths } from "./worker.ts";
import { REGISTRY } from "../stages/mod.ts";

const text = (extra: string) =>
  `version: 1
inputs:
  footage: { type: file }
  dialogue: { type: file }
steps:
  - id: rep
    uses: audio.replace
    with: { video: "\${{ inputs.footage }}", audio: ${extra} }
outputs:
  dubbed: { from: "\${{ steps.rep.outputs.video }}", path: "out/{stem}.mp4" }
`;

Deno.test("checkJobPaths() refuses a job naming inputs, step files or outputs outside the roots", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir());
  const root = join(base, "root");
  await Deno.mkdir(root);
  const roots = new PathRoots([root]);
  const job = (inputs: Record<string, unknown>) => ({ name: "a.mp4", stem: "a", inputs });
  const ok = parseWorkflow(join(root, "wf.yaml"), text('"${{ inputs.dialogue }}"'), {
    registry: REGISTRY,
  });
  const inside = { footage: join(root, "a.mp4"), dialogue: join(root, "a.wav") };
  await checkJobPaths(ok, job(inside), roots, roots);

  const refused = async (p: Promise<void>, what: RegExp) =>
    await assert.rejects(p, (e) => {
      assert.ok(e instanceof DubError && e.kind === "usage", String(e));
      assert.match(e.message, what);
      return true;
    });
  await refused(
    checkJobPaths(ok, job({ ...inside, dialogue: "/etc/passwd" }), roots, roots),
    /Refusing input "dialogue" "\/etc\/passwd"/,
  );
  // A file named literally in the workflow.
  const literal = parseWorkflow(join(root, "wf.yaml"), text('"/etc/hostname"'), {
    registry: REGISTRY,
  });
  await refused(checkJobPaths(literal, job(inside), roots, roots), /file "audio" of step "rep"/);
  // The workflow itself (and so its relative outputs) outside the roots.
  const outside = parseWorkflow(join(base, "wf.yaml"), text('"${{ inputs.dialogue }}"'), {
    registry: REGISTRY,
  });
  await refused(checkJobPaths(outside, job(inside), roots, roots), /Refusing the workflow/);
  await Deno.remove(base, { recursive: true });
});
