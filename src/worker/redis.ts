/**
 * Redis connections for BullMQ: one ioredis client per Queue / Worker /
 * QueueEvents (BullMQ needs `maxRetriesPerRequest: null` so commands wait for a
 * reconnect instead of failing). Clients retry forever with a capped back-off, so
 * a restarted Redis is picked up again; connection errors go to `onError` (with
 * the redacted URL only), never to ioredis' console warning.
 *
 * @module
 */
import { Redis } from "./_deps.ts";
import { parseRedisUrl, redactUrl } from "./redis_url.ts";

export type { Redis };

/** A client for `url`; `onError` sees at most one message per second. */
export function connectRedis(url: string, onError?: (message: string) => void): Redis {
  const t = parseRedisUrl(url);
  const r = new Redis({
    host: t.host,
    port: t.port,
    db: t.db,
    ...(t.username !== undefined ? { username: t.username } : {}),
    ...(t.password !== undefined ? { password: t.password } : {}),
    ...(t.tls ? { tls: t.tls } : {}),
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  });
  let last = 0;
  r.on("error", (e: Error) => {
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    // ioredis messages name host:port, never the password; scrub anyway.
    const msg = t.password ? e.message.replaceAll(t.password, "***") : e.message;
    onError?.(`Redis ${redactUrl(url)}: ${msg}`);
  });
  return r;
}

/** Close a client without waiting on a dead server. */
export async function closeRedis(r: Redis): Promise<void> {
  try {
    if (r.status === "ready") {
      await Promise.race([r.quit(), new Promise((res) => setTimeout(res, 1000))]);
    }
  } catch { /* already gone */ }
  r.disconnect();
}
