/** The part of ioredis' API `dub` uses (see _bullmq.d.ts for why it is typed here). */
export interface RedisOptions {
  host: string;
  port: number;
  db?: number;
  username?: string;
  password?: string;
  tls?: { servername?: string; rejectUnauthorized?: boolean };
  maxRetriesPerRequest?: number | null;
  enableOfflineQueue?: boolean;
  retryStrategy?: (times: number) => number | null;
}

export declare class Redis {
  constructor(opts: RedisOptions);
  status: string;
  on(event: "error", fn: (e: Error) => void): this;
  quit(): Promise<string>;
  disconnect(): void;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ex: "EX", seconds: number): Promise<string>;
  time(): Promise<[string, string]>;
}
