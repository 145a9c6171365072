import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalCacheStore } from "./cache.ts";

const KEY = "ab".repeat(32);
const info = { stepType: "t", stepVersion: 1, durationS: 0, values: {}, warnings: [] };

async function put(store: LocalCacheStore, text: string, replace = false) {
  const st = await store.begin(KEY);
  await Deno.writeTextFile(join(st.dir, "out.txt"), text);
  return await store.commit(st, info, { out: "out.txt" }, { replace });
}

Deno.test("LocalCacheStore.get() misses a same-size corrupt file and a re-commit repairs the entry", async () => {
  const root = await Deno.makeTempDir();
  const store = new LocalCacheStore(root);
  const e1 = await put(store, "old-output");
  await Deno.writeTextFile(e1.paths.out!, "CORRUPTED!"); // same size
  assert.equal(await store.get(KEY), null);
  const e2 = await put(store, "new-output");
  assert.equal(await Deno.readTextFile(e2.paths.out!), "new-output");
  assert.ok(await store.get(KEY));
  await Deno.remove(root, { recursive: true });
});

Deno.test("LocalCacheStore.commit() keeps a valid entry unless replace is asked (--force)", async () => {
  const root = await Deno.makeTempDir();
  const store = new LocalCacheStore(root);
  await put(store, "first");
  const kept = await put(store, "second");
  assert.equal(await Deno.readTextFile(kept.paths.out!), "first");
  const replaced = await put(store, "third", true);
  assert.equal(await Deno.readTextFile(replaced.paths.out!), "third");
  await Deno.remove(root, { recursive: true });
});

Deno.test("LocalCacheStore.commit() from concurrent writers of one key leaves one valid entry", async () => {
  const root = await Deno.makeTempDir();
  const store = new LocalCacheStore(root);
  const entries = await Promise.all(
    Array.from({ length: 6 }, (_, i) => put(store, `same-${i % 2}`)),
  );
  const final = await store.get(KEY);
  assert.ok(final, "a valid entry exists");
  const text = await Deno.readTextFile(final.paths.out!);
  for (const e of entries) assert.equal(await Deno.readTextFile(e.paths.out!), text);
  assert.deepEqual([...Deno.readDirSync(join(root, "staging"))], [], "no staging leftovers");
  await Deno.remove(root, { recursive: true });
});

Deno.test("LocalCacheStore.sweepStaging() removes leftovers of dead runs only", async () => {
  const root = await Deno.makeTempDir();
  const store = new LocalCacheStore(root);
  const live = await store.begin(KEY);
  const dead = join(root, "staging", `${KEY}.dead`);
  await Deno.mkdir(dead, { recursive: true });
  await Deno.writeTextFile(join(dead, ".incomplete"), "2026-01-01T00:00:00Z pid 999999999\n");
  await Deno.writeTextFile(join(dead, "partial.mp4"), "x");
  assert.equal(await store.sweepStaging(), 1);
  assert.ok(Deno.statSync(live.dir).isDirectory);
  assert.throws(() => Deno.statSync(dead));
  await Deno.remove(root, { recursive: true });
});

Deno.test({
  name: "LocalCacheStore.sweepStaging() treats a zombie (exited, not reaped) writer as dead",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const root = await Deno.makeTempDir();
    const store = new LocalCacheStore(root);
    // `sleep 0` exits at once; its parent exec's into `sleep` and never reaps it.
    const parent = new Deno.Command("sh", {
      args: ["-c", "sleep 0 & echo $!; exec sleep 30"],
      stdout: "piped",
    }).spawn();
    const reader = parent.stdout.getReader();
    const zpid = Number(new TextDecoder().decode((await reader.read()).value).trim());
    reader.releaseLock();
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.match(Deno.readTextFileSync(`/proc/${zpid}/stat`), /\) Z /, "the child is a zombie");
      const dir = join(root, "staging", `${KEY}.zombie`);
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(join(dir, ".incomplete"), `2026-01-01T00:00:00Z pid ${zpid}\n`);
      const alive = join(root, "staging", `${KEY}.alive`);
      await Deno.mkdir(alive, { recursive: true });
      await Deno.writeTextFile(
        join(alive, ".incomplete"),
        `2026-01-01T00:00:00Z pid ${parent.pid}\n`,
      );
      assert.equal(await store.sweepStaging(), 1);
      assert.throws(() => Deno.statSync(dir));
      assert.ok(Deno.statSync(alive).isDirectory, "a live writer's staging folder stays");
    } finally {
      parent.kill();
      await parent.status;
      await parent.stdout.cancel().catch(() => {});
      await Deno.remove(root, { recursive: true });
    }
  },
});
