import assert from "node:assert/strict";
import { join } from "node:path";

/** Runs ensureXdgRuntimeDir() in a fresh process with exactly `env`; returns what it set. */
async function inChild(env: Record<string, string>): Promise<string> {
  const mod = new URL("./runtime_dir.ts", import.meta.url).href;
  const o = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { ensureXdgRuntimeDir } from "${mod}"; ensureXdgRuntimeDir();` +
      `console.log(Deno.env.get("XDG_RUNTIME_DIR") ?? "")`,
    ],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(o.success, new TextDecoder().decode(o.stderr));
  return new TextDecoder().decode(o.stdout).trim();
}

Deno.test({
  name:
    "ensureXdgRuntimeDir() points an unset XDG_RUNTIME_DIR at a private 0700 folder and keeps a set one",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const tmp = await Deno.makeTempDir();
    try {
      const dir = await inChild({ TMPDIR: tmp });
      assert.equal(dir, join(tmp, `dub-runtime-${Deno.uid()}`));
      const st = await Deno.lstat(dir);
      assert.ok(st.isDirectory);
      assert.equal(st.mode! & 0o777, 0o700);
      assert.equal(st.uid, Deno.uid());
      // The same folder next time; a value the user set is kept.
      assert.equal(await inChild({ TMPDIR: tmp }), dir);
      assert.equal(await inChild({ TMPDIR: tmp, XDG_RUNTIME_DIR: "/run/user/x" }), "/run/user/x");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "ensureXdgRuntimeDir() does not use a stable path that is a link or not private, but a fresh 0700 folder",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const tmp = await Deno.makeTempDir();
    try {
      const stable = join(tmp, `dub-runtime-${Deno.uid()}`);
      const elsewhere = join(tmp, "elsewhere");
      await Deno.mkdir(elsewhere, { mode: 0o700 });
      await Deno.chmod(elsewhere, 0o700);
      await Deno.symlink(elsewhere, stable);
      const a = await inChild({ TMPDIR: tmp });
      assert.notEqual(a, stable);
      assert.notEqual(a, elsewhere);
      assert.equal((await Deno.lstat(a)).mode! & 0o777, 0o700);
      await Deno.remove(stable);
      await Deno.mkdir(stable);
      await Deno.chmod(stable, 0o755);
      const b = await inChild({ TMPDIR: tmp });
      assert.notEqual(b, stable);
      assert.equal((await Deno.lstat(b)).mode! & 0o777, 0o700);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
