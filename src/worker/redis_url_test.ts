import assert from "node:assert/strict";
import { DubError } from "../errors.ts";
import { parseRedisUrl, redactUrl } from "./redis_url.ts";

Deno.test("parseRedisUrl() reads host, port, db, user and password; rediss:// turns TLS on", () => {
  assert.deepEqual(parseRedisUrl("redis://10.0.0.5:6380/2"), {
    host: "10.0.0.5",
    port: 6380,
    db: 2,
  });
  assert.deepEqual(parseRedisUrl("redis://h"), { host: "h", port: 6379, db: 0 });
  const t = parseRedisUrl("rediss://dub:p%40ss@queue.example:6390");
  assert.equal(t.username, "dub");
  assert.equal(t.password, "p@ss");
  assert.deepEqual(t.tls, { servername: "queue.example", rejectUnauthorized: true });
  assert.equal(parseRedisUrl("rediss://h?insecure=1").tls?.rejectUnauthorized, false);
  // SNI takes host names only: an IP address gets no servername (TLS would refuse it).
  assert.deepEqual(parseRedisUrl("rediss://10.1.2.3:6380").tls, { rejectUnauthorized: true });
  assert.equal(parseRedisUrl("redis://:only@h").password, "only");
});

Deno.test("parseRedisUrl() refuses other schemes and bad databases without echoing the password", () => {
  for (const bad of ["http://u:topsecret@h:1", "redis://u:topsecret@h/x", "nonsense topsecret@"]) {
    assert.throws(() => parseRedisUrl(bad), (e: unknown) => {
      assert.ok(e instanceof DubError && e.kind === "usage");
      assert.ok(!(e as Error).message.includes("topsecret"), (e as Error).message);
      return true;
    });
  }
});

Deno.test("redactUrl() drops user and password, keeps scheme, host, port and db", () => {
  assert.equal(redactUrl("redis://:pw@127.0.0.1:6379"), "redis://***@127.0.0.1:6379");
  assert.equal(redactUrl("rediss://u:pw@h:1/3"), "rediss://***@h:1/3");
  assert.equal(redactUrl("redis://h:1"), "redis://h:1");
  assert.ok(!redactUrl("not a url //u:pw@h").includes("pw"));
});
