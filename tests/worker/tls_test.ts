/**
 * `rediss://` end to end at the connection level: a real redis-server with TLS
 * (a certificate made by `openssl` for the test) and a password; the client
 * connects with `?insecure=1`, a strict client refuses the self-signed
 * certificate, and no message names the password. Skips (naming the package)
 * without redis-server or openssl.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeRedis, connectRedis } from "../../src/worker/redis.ts";
import { freePort, redisMissing, sleep } from "./_harness.ts";

const missing = await redisMissing() ??
  (await new Deno.Command("openssl", { args: ["version"], stdout: "null" }).output().then(
    (o) => (o.success ? null : "openssl does not run"),
    () => "Debian package openssl is not installed",
  ));

Deno.test({
  name:
    "connectRedis() speaks TLS to redis-server (rediss://), refuses an untrusted certificate, hides the password",
  ignore: missing !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "dub-tls-" });
    const ok = await new Deno.Command("openssl", {
      args: ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem")]
        .concat(["-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1"]),
      stdout: "null",
      stderr: "null",
    }).output();
    assert.ok(ok.success, "openssl made a certificate");
    const port = freePort();
    const password = "tls-secret-pw";
    const server = new Deno.Command("redis-server", {
      args: ["--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1", "--save", ""]
        .concat(["--tls-cert-file", join(dir, "cert.pem"), "--tls-key-file", join(dir, "key.pem")])
        .concat(["--tls-ca-cert-file", join(dir, "cert.pem"), "--tls-auth-clients", "no"])
        .concat(["--requirepass", password]),
      stdout: "null",
      stderr: "null",
    }).spawn();
    const messages: string[] = [];
    try {
      await sleep(500);
      const c = connectRedis(
        `rediss://:${password}@127.0.0.1:${port}?insecure=1`,
        (m) => messages.push(m),
      );
      await c.set("dub:tls", "yes", "EX", 10);
      assert.equal(await c.get("dub:tls"), "yes");
      await closeRedis(c);
      const strict = connectRedis(
        `rediss://:${password}@127.0.0.1:${port}`,
        (m) => messages.push(m),
      );
      for (let i = 0; i < 100 && !messages.some((m) => /certificate/.test(m)); i++) await sleep(50);
      await closeRedis(strict);
      assert.ok(messages.some((m) => /self-signed certificate/.test(m)), messages.join("\n"));
      assert.ok(messages.every((m) => !m.includes(password) && m.includes("rediss://***@")));
    } finally {
      server.kill("SIGTERM");
      await server.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
