import assert from "node:assert/strict";
import { join } from "node:path";
import { loadWorkflow, parseWorkflow, WorkflowError } from "./load.ts";
import { REGISTRY } from "../stages/mod.ts";

const F = "/tmp/wf.yaml";
const ok = `version: 1
inputs:
  footage:
    type: file
    default: a.mp4
  audio:
    type: file
    default: b.wav
steps:
  - id: enc
    uses: video.encode
    with:
      video: \${{ steps.rep.outputs.video }}
      crf: 20
  - id: rep
    uses: audio.replace
    with:
      video: \${{ inputs.footage }}
      audio: \${{ inputs.audio }}
outputs:
  out:
    from: \${{ steps.enc.outputs.video }}
    path: out/{stem}.mp4
`;

function diag(text: string): string {
  try {
    parseWorkflow(F, text, { registry: REGISTRY });
  } catch (e) {
    assert.ok(e instanceof WorkflowError, `expected WorkflowError, got ${e}`);
    return e.message;
  }
  assert.fail("expected the workflow to be rejected");
}

Deno.test("parseWorkflow() orders steps by their references (DAG)", () => {
  const wf = parseWorkflow(F, ok, { registry: REGISTRY });
  assert.deepEqual(wf.order.map((s) => s.id), ["rep", "enc"]);
  assert.deepEqual([...wf.deps.get("enc")!], ["rep"]);
});

Deno.test("parseWorkflow() reports an unknown key at its line and column", () => {
  const msg = diag(
    ok.replace("    uses: audio.replace\n", "    uses: audio.replace\n    wiht: {}\n"),
  );
  assert.match(msg, /^\/tmp\/wf\.yaml:17:5: unknown key "wiht" \(did you mean "with"\?\)/m);
});

Deno.test("parseWorkflow() reports a wrong parameter type at the value", () => {
  const msg = diag(ok.replace("crf: 20", 'crf: "high"'));
  assert.match(msg, /wf\.yaml:14:12: step "enc" parameter "crf": .*number/);
});

Deno.test("parseWorkflow() reports an unknown step parameter with a suggestion", () => {
  const msg = diag(ok.replace("crf: 20", "cfr: 20"));
  assert.match(
    msg,
    /wf\.yaml:14:7: step "enc" \(video\.encode\) has no parameter "cfr" \(did you mean "crf"\?\)/,
  );
});

Deno.test("parseWorkflow() rejects an unknown step type and suggests the closest", () => {
  const msg = diag(ok.replace("uses: video.encode", "uses: video.encod"));
  assert.match(
    msg,
    /wf\.yaml:11:11: unknown step type "video\.encod" \(did you mean "video\.encode"\?\)/,
  );
});

Deno.test("parseWorkflow() rejects unknown references", () => {
  const msg = diag(
    ok.replace("inputs.audio", "inputs.audoi").replace(
      "steps.rep.outputs.video }}\n      crf",
      "steps.rep.outputs.vid }}\n      crf",
    ),
  );
  assert.match(msg, /unknown input "audoi" \(did you mean "audio"\?\)/);
  assert.match(msg, /step "rep" \(audio\.replace\) has no output "vid"/);
});

Deno.test("parseWorkflow() detects a cycle and names it", () => {
  const msg = diag(
    ok.replace("video: ${{ inputs.footage }}", "video: ${{ steps.enc.outputs.video }}"),
  );
  assert.match(msg, /steps form a cycle: (rep → enc → rep|enc → rep → enc)/);
});

Deno.test("parseWorkflow() rejects duplicate ids, bad versions and YAML syntax errors with positions", () => {
  assert.match(diag(ok.replace("id: rep", "id: enc")), /duplicate step id "enc"/);
  assert.match(
    diag(ok.replace("version: 1", "version: 2")),
    /wf\.yaml:1:10: version: only `version: 1` is supported/,
  );
  assert.match(diag("version: 1\nsteps:\n  - id: [unclosed\n"), /^\/tmp\/wf\.yaml:\d+:\d+: /);
  assert.match(diag("- just\n- a list\n"), /a workflow is a YAML mapping/);
});

Deno.test("parseWorkflow() applies --set to inputs and step parameters and rejects unknown targets", () => {
  const wf = parseWorkflow(F, ok, {
    registry: REGISTRY,
    sets: ["footage=other.mp4", "enc.crf=28"],
  });
  assert.equal(wf.file.steps.find((s) => s.id === "enc")!.with.crf, 28);
  const inp = wf.file.inputs.footage;
  assert.ok(typeof inp === "object" && inp.default === "other.mp4");
  assert.deepEqual(wf.cwdInputs, { footage: "other.mp4" });
  assert.throws(
    () => parseWorkflow(F, ok, { registry: REGISTRY, sets: ["nope=1"] }),
    /--set nope: the workflow has no input "nope"/,
  );
  assert.throws(() => parseWorkflow(F, ok, { registry: REGISTRY, sets: ["enc.crf=99"] }), /crf/);
});

Deno.test("loadWorkflow() rejects a non-UTF-8 file with the position of the bad byte", async () => {
  const dir = await Deno.makeTempDir();
  const p = join(dir, "latin1.yaml");
  const bytes = new TextEncoder().encode("version: 1\nname: caf\u00e9\n");
  const latin1 = new Uint8Array([...bytes.subarray(0, 20), 0xe9, 0x0a]);
  await Deno.writeFile(p, latin1);
  await assert.rejects(
    loadWorkflow(p, { registry: REGISTRY }),
    (e) =>
      e instanceof WorkflowError &&
      /latin1\.yaml:2:10: the file is not valid UTF-8/.test(e.message),
  );
  await assert.rejects(
    loadWorkflow(join(dir, "missing.yaml"), { registry: REGISTRY }),
    /Cannot read workflow .*file not found/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseWorkflow() requires outputs to reference a file output", () => {
  const msg = diag(
    ok.replace("from: ${{ steps.enc.outputs.video }}", "from: ${{ steps.enc.outputs.frames }}"),
  );
  assert.match(msg, /steps\.enc\.outputs\.frames is a value, not a file/);
});
