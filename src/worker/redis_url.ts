/**
 * Redis connection URLs: `redis://[[user]:password@]host[:port][/db]` and
 * `rediss://…` (TLS). Parsed into ioredis options; {@link redactUrl} is the only
 * form of a URL that may be printed or recorded (no user, no password).
 *
 * @module
 */
import { isIP } from "node:net";
import { DubError } from "../errors.ts";

/** What ioredis needs to connect (a subset of its options). */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** Present for `rediss://` (TLS); `servername` for SNI (host names only, not IP addresses). */
  tls?: { servername?: string; rejectUnauthorized: boolean };
}

/** Parse a Redis URL; throws a usage error naming the (redacted) URL. */
export function parseRedisUrl(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DubError("usage", `Invalid queue URL "${redactUrl(url)}"`, {
      hint: "pass --queue redis://HOST:PORT (or rediss://… for TLS)",
    });
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new DubError(
      "usage",
      `Invalid queue URL "${redactUrl(url)}": the scheme must be redis:// or rediss://`,
      { hint: "pass --queue redis://HOST:PORT (or rediss://… for TLS)" },
    );
  }
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, "");
  const db = dbText ? Number(dbText) : 0;
  if (!Number.isInteger(db) || db < 0) {
    throw new DubError("usage", `Invalid queue URL "${redactUrl(url)}": bad database "${dbText}"`, {
      hint: "the path of a Redis URL is a database number, e.g. redis://host:6379/0",
    });
  }
  const host = u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  const t: RedisTarget = { host, port, db };
  if (u.username) t.username = decodeURIComponent(u.username);
  if (u.password) t.password = decodeURIComponent(u.password);
  // `rediss://host?insecure=1` accepts a self-signed certificate (tests, private networks).
  if (u.protocol === "rediss:") {
    const rejectUnauthorized = u.searchParams.get("insecure") !== "1";
    t.tls = isIP(host) ? { rejectUnauthorized } : { servername: host, rejectUnauthorized };
  }
  return t;
}

/** The URL without credentials, safe for logs, events and reports. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const auth = u.username || u.password ? "***@" : "";
    return `${u.protocol}//${auth}${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    // Not a URL: drop everything before the last "@" (credentials, if any).
    const m = /^([a-z]+:\/\/)?.*@([^@]*)$/is.exec(url);
    return m ? `${m[1] ?? ""}***@${m[2]}` : url;
  }
}
