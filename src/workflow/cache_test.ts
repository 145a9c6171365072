import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalCacheStore, outputRefs } from "./cache.ts";

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

Deno.test("FolderCacheStore keeps one blob per content and location-free manifests", async () => {
  const root = await Deno.makeTempDir();
  const store = new LocalCacheStore(root);
  const a = await put(store, "same bytes");
  const other = "cd".repeat(32);
  const st = await store.begin(other);
  await Deno.writeTextFile(join(st.dir, "out.txt"), "same bytes");
  const b = await store.commit(st, info, { out: "out.txt" });
  assert.equal((await Deno.stat(a.paths.out!)).ino, (await Deno.stat(b.paths.out!)).ino);
  const blobs = [...Deno.readDirSync(join(root, "blobs"))].flatMap((d) => [
    ...Deno.readDirSync(join(root, "blobs", d.name)),
  ]);
  assert.equal(blobs.length, 1, "one blob for both keys");
  const m = await store.getManifest(KEY);
  assert.ok(m);
  // The manifest names content, never a path.
  assert.ok(!JSON.stringify(m).includes(root));
  assert.deepEqual(outputRefs(m).out, { key: KEY, name: "out.txt", sha256: m.files.out!.sha256 });
  assert.ok(await store.hasBlob(m.files.out!.sha256, ".txt"));
  await Deno.remove(root, { recursive: true });
});

Deno.test("FolderCacheStore: a manifest whose blob is missing or partial is a miss", async () => {
  const root = await Deno.makeTempDir();
  const store = new LocalCacheStore(root);
  const e = await put(store, "payload");
  // A killed writer's temporary never counts, a truncated blob is a miss.
  await Deno.writeTextFile(`${e.paths.out!}.deadbeef.partial`, "pay");
  assert.ok(await store.get(KEY));
  await Deno.writeTextFile(e.paths.out!, "pay");
  assert.equal(await store.get(KEY), null);
  await Deno.remove(e.paths.out!);
  assert.equal(await store.get(KEY), null);
  // Writing the entry again repairs it (the invalid manifest is replaced).
  const again = await put(store, "payload");
  assert.equal(await Deno.readTextFile(again.paths.out!), "payload");
  await Deno.remove(root, { recursive: true });
});

Deno.test("FolderCacheStore.sweepStaging() leaves a fresh staging folder of another machine alone", async () => {
  const root = await Deno.makeTempDir();
  const store = new LocalCacheStore(root);
  const foreign = join(root, "staging", `${KEY}.other`);
  await Deno.mkdir(foreign, { recursive: true });
  // Its pid means nothing here: it belongs to a process on another host.
  await Deno.writeTextFile(
    join(foreign, ".incomplete"),
    "2026-01-01T00:00:00Z pid 999999999 host elsewhere\n",
  );
  assert.equal(await store.sweepStaging(), 0);
  assert.ok(Deno.statSync(foreign).isDirectory);
  await Deno.remove(root, { recursive: true });
});

Deno.test("FolderCacheStore: writers in separate processes on one folder leave one valid entry", async () => {
  const root = await Deno.makeTempDir();
  const script = `
    import { LocalCacheStore } from ${JSON.stringify(new URL("./cache.ts", import.meta.url).href)};
    import { join } from "node:path";
    const store = new LocalCacheStore(Deno.args[0]);
    for (let i = 0; i < 20; i++) {
      const st = await store.begin(${JSON.stringify(KEY)});
      await Deno.writeTextFile(join(st.dir, "out.txt"), "x".repeat(100000) + Deno.args[1]);
      await store.commit(st, ${JSON.stringify(info)}, { out: "out.txt" });
    }`;
  const procs = ["a", "b", "c"].map((tag) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script, root, tag],
      stdout: "null",
      stderr: "piped",
    }).output()
  );
  for (const o of await Promise.all(procs)) {
    assert.ok(o.success, new TextDecoder().decode(o.stderr));
  }
  const e = await store0(root).get(KEY);
  assert.ok(e, "a valid entry");
  assert.equal((await Deno.readTextFile(e.paths.out!)).length, 100001);
  assert.equal(await store0(root).sweepStaging(), 0, "no leftovers of live writers to sweep");
  assert.deepEqual([...Deno.readDirSync(join(root, "staging"))], []);
  await Deno.remove(root, { recursive: true });
});
const store0 = (root: string) => new LocalCacheStore(root);

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
