// The one place environment variables are read. Every value is validated at start-up so that a
// typo stops the process with a message naming the variable, instead of failing on first use.
import path from 'node:path';

export interface S3Config {
  endpoint?: string;
  bucket: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
  /** where unfinished resumable uploads (tus) live: a bucket of their own, so they never show in blob listings (loadConfig always sets it) */
  uploadsBucket?: string;
  /** whether the server honours If-None-Match: * on puts; unset (auto): the blob store asks it once */
  conditionalPuts?: boolean;
}

export interface Config {
  port: number;
  host: string;
  /** `workyard worker` serves /healthz, /readyz and /metrics on this port when set */
  workerPort?: number;
  dataDir: string;
  /** absent → SQLite file in the data dir */
  databaseUrl?: string;
  /** absent → the SQL queue driver and in-process counters */
  redisUrl?: string;
  /** prefix of every Redis key, so that several deployments (or test runs) can share one Redis */
  redisPrefix: string;
  /** absent → blobs on local disk under the data dir */
  s3?: S3Config;
  syncTimeoutMs: number;
  /** how long a running job stays its worker's without renewal: a dead worker's job runs again after this */
  queueLeaseMs: number;
  shutdownTimeoutMs: number;
  /** finished compute task records are deleted this long after they finished (7 days, as the queue's finished jobs) */
  computeTaskRetentionMs: number;
  /** feedback posts' Idempotency-Key records are deleted this long after the first request (a day) */
  feedbackIdempotencyKeyRetentionMs: number;
  /** the feedback forms' spam rules and per-address limit (src/modules/feedback/spam-rules.ts) */
  forms: {
    /** signs the forms' fill-time tokens; absent → a key made once and kept in the database */
    secret?: string;
    /** a form posted sooner than this after its page was made is suspect (2 s) */
    minFillMs: number;
    /** a form posted later than this after its page was made is suspect (a day) */
    maxAgeMs: number;
    /** form posts per client address per minute; 0: no limit */
    postsPerMinute: number;
  };
  /** every call to a dependency gives up after this long and answers 503 */
  dependencyTimeoutMs: number;
  apiKey?: string;
  logLevel: string;
  /** fastTier: where write-behind keeps bytes until uploaded (absent → Redis when configured, else SQL) */
  blobs: {
    maxBytes: number;
    writeBehind: boolean;
    fastTier?: 'sql' | 'redis';
    /** an unfinished resumable upload (tus) expires this long after it was created, and is swept */
    uploadExpiryMs: number;
    /** who may write (PUT, /put/, uploads): anyone; the API key holder and signed PUT links; or those and write tokens too */
    writeAccess: 'open' | 'key' | 'token';
    /** who may read (GET, HEAD, /get/): anyone, or the API key holder and signed GET links */
    readAccess: 'open' | 'key';
    /** the keys of signed links: the first signs, every one verifies (rotation); absent → a key kept in the database */
    signingKeys?: string[];
  };
  /**
   * hostConcurrency / hostRate: page tasks of one host running at once, and started per window,
   * across every worker process (the queue's groups: one per host); 0 lifts the limit.
   */
  webhooks: { allowPrivate: boolean };
  /**
   * requestsPerHost / hostDelayMs: a worker process's requests to one host at once, and the least
   * time between two of their starts (robots.txt's Crawl-delay when longer); 0 lifts each
   */
  harvest: { allowPrivate: boolean; allowHosts: string[]; chromium: string | null; respectRobots: boolean; maxImageBytes: number; hostConcurrency: number; hostRate: { max: number; windowMs: number }; requestsPerHost: number; hostDelayMs: number };
  /**
   * Requests per window per client address and route group (a route's tag in /docs); 0 = no
   * limit. `groups` overrides `max` for the groups it names.
   */
  rateLimit: { max: number; windowMs: number; groups: Record<string, number> };
  /**
   * retentionDays: day buckets are deleted this many days after they end (absent: kept forever).
   * patterns: route patterns of ?group=route, beyond the built-in folding of ids ("/u/:name/").
   */
  stats: { retentionDays?: number; patterns: string[] };
  /** OpenTelemetry traces; null (off, nothing of the SDK loaded) unless the OTEL_* variables ask for them */
  tracing: TracingSettings | null;
}

/**
 * What Workyard reads of the OpenTelemetry environment: whether to trace at all, and the service
 * name. The SDK reads the rest itself (OTEL_EXPORTER_OTLP_PROTOCOL, _HEADERS, OTEL_BSP_*,
 * OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES …), following the OTel conventions.
 */
export interface TracingSettings {
  serviceName: string;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    value: string,
  ) {
    super(`${variable}=${JSON.stringify(value)} is invalid: expected ${expected}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `a whole number from ${min} to ${max}`, raw);
  }
  return value;
}

/** Comma-separated path patterns, each from the root; a `:name` segment stands for any one segment. */
function statsPatterns(env: Env): string[] {
  const raw = read(env, 'WORKYARD_STATS_PATTERNS');
  if (raw === undefined) return [];
  const patterns = raw.split(',').map((p) => p.trim());
  for (const pattern of patterns) {
    if (!/^\/[^\s?#]*$/.test(pattern)) throw new ConfigError('WORKYARD_STATS_PATTERNS', 'comma-separated paths starting with /, such as /users/:name/', raw);
  }
  return patterns;
}

function accessMode(env: Env, name: string, modes: ('open' | 'key' | 'token')[]): 'open' | 'key' | 'token' {
  const raw = read(env, name) ?? 'open';
  if (!(modes as string[]).includes(raw)) throw new ConfigError(name, modes.join(' or '), raw);
  // without a key to hold (and to make tokens with), a closed mode would quietly leave every blob open
  if (raw !== 'open' && read(env, 'WORKYARD_API_KEY') === undefined) throw new ConfigError(name, `open, or ${raw} together with WORKYARD_API_KEY`, raw);
  return raw as 'open' | 'key' | 'token';
}

function signingKeys(env: Env): string[] | undefined {
  const raw = read(env, 'WORKYARD_SIGNING_KEY');
  if (raw === undefined) return undefined;
  const keys = raw.split(',').map((key) => key.trim());
  if (keys.some((key) => key.length < 16)) throw new ConfigError('WORKYARD_SIGNING_KEY', 'a comma-separated list of keys of 16 characters or more (the first signs, all verify)', '(a key too short)');
  return keys;
}

function formSecret(env: Env): string | undefined {
  const secret = read(env, 'WORKYARD_FORM_SECRET');
  if (secret !== undefined && secret.length < 16) throw new ConfigError('WORKYARD_FORM_SECRET', 'at least 16 characters', '(too short)');
  return secret;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, 'true or false', raw);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `a URL (${protocols.join(' or ')})`, raw);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `a URL starting with ${protocols.map((p) => p + '//').join(' or ')}`, raw);
  }
  return raw;
}

function s3(env: Env): S3Config | undefined {
  const endpoint = url(env, 'WORKYARD_S3_ENDPOINT', ['http:', 'https:']);
  const bucket = read(env, 'WORKYARD_S3_BUCKET');
  if (!endpoint && !bucket) return undefined;
  if (!bucket) throw new ConfigError('WORKYARD_S3_BUCKET', 'a bucket name when WORKYARD_S3_ENDPOINT is set', '');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError('WORKYARD_S3_BUCKET', 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)', bucket);
  }
  return {
    endpoint,
    bucket,
    region: read(env, 'WORKYARD_S3_REGION') ?? 'us-east-1',
    accessKeyId: read(env, 'WORKYARD_S3_ACCESS_KEY_ID'),
    secretAccessKey: read(env, 'WORKYARD_S3_SECRET_ACCESS_KEY'),
    // MinIO and s3rver serve buckets by path, not by virtual host.
    forcePathStyle: boolean(env, 'WORKYARD_S3_FORCE_PATH_STYLE', endpoint !== undefined),
    uploadsBucket: uploadsBucket(env, bucket),
    conditionalPuts: conditionalPuts(env),
  };
}

/** WORKYARD_S3_CONDITIONAL_PUTS: true or false as said; auto (the default) leaves the store to ask the server. */
function conditionalPuts(env: Env): boolean | undefined {
  const raw = read(env, 'WORKYARD_S3_CONDITIONAL_PUTS');
  if (raw === undefined || /^auto$/i.test(raw)) return undefined;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError('WORKYARD_S3_CONDITIONAL_PUTS', 'auto, true or false', raw);
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The uploads bucket: WORKYARD_S3_UPLOADS_BUCKET, else the blob bucket's name with "-uploads" (when that fits). */
function uploadsBucket(env: Env, bucket: string): string {
  const given = read(env, 'WORKYARD_S3_UPLOADS_BUCKET');
  const name = given ?? `${bucket}-uploads`;
  if (!BUCKET_NAME.test(name)) {
    throw new ConfigError('WORKYARD_S3_UPLOADS_BUCKET', given ? 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)' : `a bucket name: "${name}" (the default) is too long`, given ?? '');
  }
  if (name === bucket) throw new ConfigError('WORKYARD_S3_UPLOADS_BUCKET', 'a bucket other than WORKYARD_S3_BUCKET (unfinished uploads would show as blobs)', name);
  return name;
}

/**
 * `WORKYARD_HARVEST_ALLOW_HOSTS=127.0.0.1:8080,intranet.example`: hosts (a name or an address, with
 * or without a port) harvest may reach even when private addresses are not allowed.
 */
function allowHosts(env: Env, name: string): string[] {
  const raw = read(env, name);
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const host = entry.trim().toLowerCase();
    if (!/^(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/.test(host)) throw new ConfigError(name, 'host or host:port entries separated by commas, e.g. 127.0.0.1:8080,intranet.example', raw);
    return host;
  });
}

/** `WORKYARD_RATE_LIMIT_GROUPS=harvest=10,blobs=200`: per-group maxima (0 lifts the limit for that group). */
function rateLimitGroups(env: Env): Record<string, number> {
  const name = 'WORKYARD_RATE_LIMIT_GROUPS';
  const raw = read(env, name);
  const groups: Record<string, number> = {};
  if (raw === undefined) return groups;
  for (const entry of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([a-z][a-z0-9_-]{0,31})=(\d{1,8})$/.exec(entry);
    if (!match) throw new ConfigError(name, 'group=max pairs separated by commas, e.g. harvest=10,blobs=200', raw);
    groups[match[1]] = Number(match[2]);
  }
  return groups;
}

export function loadConfig(env: Env = process.env): Config {
  const logLevel = read(env, 'WORKYARD_LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('WORKYARD_LOG_LEVEL', 'one of fatal, error, warn, info, debug, trace, silent', logLevel);
  }
  const redisPrefix = read(env, 'WORKYARD_REDIS_PREFIX') ?? 'workyard';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(redisPrefix)) {
    throw new ConfigError('WORKYARD_REDIS_PREFIX', 'letters, digits, _ . - (1 to 64)', redisPrefix);
  }
  return {
    port: integer(env, 'WORKYARD_PORT', 8080, 0, 65535),
    host: read(env, 'WORKYARD_HOST') ?? '127.0.0.1',
    workerPort: read(env, 'WORKYARD_WORKER_PORT') === undefined ? undefined : integer(env, 'WORKYARD_WORKER_PORT', 0, 0, 65535),
    dataDir: path.resolve(read(env, 'WORKYARD_DATA_DIR') ?? './data'),
    databaseUrl: url(env, 'WORKYARD_DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'WORKYARD_REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix,
    s3: s3(env),
    syncTimeoutMs: integer(env, 'WORKYARD_SYNC_TIMEOUT_MS', 10_000, 1, 3_600_000),
    queueLeaseMs: integer(env, 'WORKYARD_QUEUE_LEASE_MS', 30_000, 500, 3_600_000),
    shutdownTimeoutMs: integer(env, 'WORKYARD_SHUTDOWN_TIMEOUT_MS', 10_000, 0, 3_600_000),
    computeTaskRetentionMs: integer(env, 'WORKYARD_COMPUTE_TASK_RETENTION_MS', 7 * 24 * 3_600_000, 1_000, 10 * 365 * 24 * 3_600_000),
    feedbackIdempotencyKeyRetentionMs: integer(env, 'WORKYARD_FEEDBACK_IDEMPOTENCY_KEY_RETENTION_MS', 24 * 3_600_000, 1_000, 365 * 24 * 3_600_000),
    forms: {
      secret: formSecret(env),
      minFillMs: integer(env, 'WORKYARD_FORM_MIN_FILL_MS', 2_000, 0, 3_600_000),
      maxAgeMs: integer(env, 'WORKYARD_FORM_MAX_AGE_MS', 24 * 3_600_000, 60_000, 30 * 24 * 3_600_000),
      postsPerMinute: integer(env, 'WORKYARD_FORM_RATE_LIMIT', 10, 0, 1_000_000),
    },
    dependencyTimeoutMs: integer(env, 'WORKYARD_DEPENDENCY_TIMEOUT_MS', 800, 50, 60_000),
    stats: {
      retentionDays: read(env, 'WORKYARD_STATS_RETENTION_DAYS') === undefined ? undefined : integer(env, 'WORKYARD_STATS_RETENTION_DAYS', 0, 1, 100_000),
      patterns: statsPatterns(env),
    },
    apiKey: read(env, 'WORKYARD_API_KEY'),
    logLevel,
    blobs: {
      maxBytes: integer(env, 'WORKYARD_BLOBS_MAX_BYTES', 5 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
      writeBehind: boolean(env, 'WORKYARD_BLOBS_WRITE_BEHIND', false),
      fastTier: blobsFastTier(env),
      uploadExpiryMs: integer(env, 'WORKYARD_BLOBS_UPLOAD_EXPIRY_MS', 24 * 3_600_000, 1_000, 365 * 24 * 3_600_000),
      writeAccess: accessMode(env, 'WORKYARD_BLOBS_WRITE_ACCESS', ['open', 'key', 'token']),
      readAccess: accessMode(env, 'WORKYARD_BLOBS_READ_ACCESS', ['open', 'key']) as 'open' | 'key',
      signingKeys: signingKeys(env),
    },
    webhooks: {
      // off: a webhook URL is a way to make the server send requests into its own network
      allowPrivate: boolean(env, 'WORKYARD_WEBHOOKS_ALLOW_PRIVATE', false),
    },
    harvest: {
      allowPrivate: boolean(env, 'WORKYARD_HARVEST_ALLOW_PRIVATE', false),
      allowHosts: allowHosts(env, 'WORKYARD_HARVEST_ALLOW_HOSTS'),
      // render: "browser" loads pages in this Chromium; empty (or off) turns it off
      chromium: ['', 'off'].includes(env.WORKYARD_HARVEST_CHROMIUM?.trim() ?? 'unset') ? null : (read(env, 'WORKYARD_HARVEST_CHROMIUM') ?? '/usr/bin/chromium'),
      respectRobots: boolean(env, 'WORKYARD_HARVEST_RESPECT_ROBOTS', true),
      maxImageBytes: integer(env, 'WORKYARD_HARVEST_MAX_IMAGE_BYTES', 20 * 1024 ** 2, 1, Number.MAX_SAFE_INTEGER),
      hostConcurrency: integer(env, 'WORKYARD_HARVEST_HOST_CONCURRENCY', 2, 0, 10_000),
      requestsPerHost: integer(env, 'WORKYARD_HARVEST_REQUESTS_PER_HOST', 4, 0, 10_000),
      hostDelayMs: integer(env, 'WORKYARD_HARVEST_HOST_DELAY_MS', 250, 0, 60_000),
      hostRate: {
        max: integer(env, 'WORKYARD_HARVEST_HOST_RATE_MAX', 10, 0, 1_000_000),
        windowMs: integer(env, 'WORKYARD_HARVEST_HOST_RATE_WINDOW_MS', 1_000, 1, 86_400_000),
      },
    },
    rateLimit: {
      max: integer(env, 'WORKYARD_RATE_LIMIT_MAX', 0, 0, 10_000_000),
      windowMs: integer(env, 'WORKYARD_RATE_LIMIT_WINDOW_MS', 60_000, 1, 86_400_000),
      groups: rateLimitGroups(env),
    },
    tracing: tracingSettings(env),
  };
}

const TRACE_EXPORTERS = ['otlp', 'console', 'zipkin', 'none'];
const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'];

/**
 * Tracing is on when an OTLP endpoint or a traces exporter is named (OTEL_TRACES_EXPORTER=none
 * and OTEL_SDK_DISABLED=true turn it off): without either, an SDK would only send to a default
 * localhost:4318 that is rarely there.
 */
function tracingSettings(env: Env): TracingSettings | null {
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) url(env, name, ['http:', 'https:']);
  for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
    const protocol = read(env, name);
    if (protocol !== undefined && !OTLP_PROTOCOLS.includes(protocol)) throw new ConfigError(name, `one of ${OTLP_PROTOCOLS.join(', ')}`, protocol);
  }
  const exporters = read(env, 'OTEL_TRACES_EXPORTER')?.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = exporters?.find((name) => !TRACE_EXPORTERS.includes(name));
  if (unknown !== undefined) throw new ConfigError('OTEL_TRACES_EXPORTER', `a list of ${TRACE_EXPORTERS.join(', ')}`, read(env, 'OTEL_TRACES_EXPORTER')!);
  const endpoint = read(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') ?? read(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (boolean(env, 'OTEL_SDK_DISABLED', false) || (!endpoint && !exporters?.length) || exporters?.includes('none')) return null;
  return { serviceName: read(env, 'OTEL_SERVICE_NAME') ?? 'workyard' };
}

function blobsFastTier(env: Env): 'sql' | 'redis' | undefined {
  const raw = read(env, 'WORKYARD_BLOBS_FAST_TIER');
  if (raw === undefined) return undefined;
  if (raw !== 'sql' && raw !== 'redis') throw new ConfigError('WORKYARD_BLOBS_FAST_TIER', 'sql or redis', raw);
  if (raw === 'redis' && !read(env, 'WORKYARD_REDIS_URL')) throw new ConfigError('WORKYARD_BLOBS_FAST_TIER', 'sql unless WORKYARD_REDIS_URL is set', raw);
  return raw;
}

/** Which shape a process runs, for /readyz and /metrics: scaled as soon as any shared engine is named. */
export function shapeOf(config: Config): 'embedded' | 'scaled' {
  return config.databaseUrl || config.redisUrl || config.s3 ? 'scaled' : 'embedded';
}

/** What the operator commands (`workyard tasks`, `workyard queues`) need: where the server is, and its key. */
export interface ClientConfig {
  /** WORKYARD_URL, else this machine at WORKYARD_PORT */
  url: string;
  apiKey?: string;
}

/**
 * Read apart from loadConfig: a client run on an operator's machine has none of the server's
 * settings, and a server setting it does not use must not stop it.
 */
export function loadClientConfig(env: Env = process.env): ClientConfig {
  return {
    url: url(env, 'WORKYARD_URL', ['http:', 'https:']) ?? `http://127.0.0.1:${integer(env, 'WORKYARD_PORT', 8080, 1, 65535)}`,
    apiKey: read(env, 'WORKYARD_API_KEY'),
  };
}
