import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, shapeOf } from './config.js';

describe('configuration', () => {
  it('defaults to the embedded shape', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', databaseUrl: undefined, redisUrl: undefined, s3: undefined });
    expect(config.dataDir).toMatch(/data$/);
    expect(shapeOf(config)).toBe('embedded');
    // as long as the queue keeps finished jobs
    expect(config.computeTaskRetentionMs).toBe(7 * 24 * 3_600_000);
    expect(config.feedbackIdempotencyKeyRetentionMs).toBe(24 * 3_600_000);
  });

  it('keeps day buckets forever unless WORKYARD_STATS_RETENTION_DAYS says, and reads route patterns', () => {
    expect(loadConfig({}).stats).toEqual({ retentionDays: undefined, patterns: [] });
    expect(loadConfig({ WORKYARD_STATS_RETENTION_DAYS: '400', WORKYARD_STATS_PATTERNS: '/users/:name/, /files/:file' }).stats).toEqual({ retentionDays: 400, patterns: ['/users/:name/', '/files/:file'] });
    expect(() => loadConfig({ WORKYARD_STATS_RETENTION_DAYS: '0' })).toThrow(/WORKYARD_STATS_RETENTION_DAYS/);
    expect(() => loadConfig({ WORKYARD_STATS_PATTERNS: 'users/:name' })).toThrow(/WORKYARD_STATS_PATTERNS/);
  });

  it('reads the harvest allow-list and the Chromium of render: browser, naming the variable when the list is malformed', () => {
    expect(loadConfig({}).harvest).toMatchObject({ allowHosts: [], chromium: '/usr/bin/chromium' });
    expect(loadConfig({ WORKYARD_HARVEST_ALLOW_HOSTS: '127.0.0.1:8080, Intranet.Example,[::1]:9000', WORKYARD_HARVEST_CHROMIUM: '' }).harvest).toMatchObject({ allowHosts: ['127.0.0.1:8080', 'intranet.example', '[::1]:9000'], chromium: null });
    expect(() => loadConfig({ WORKYARD_HARVEST_ALLOW_HOSTS: 'http://127.0.0.1/' })).toThrow(/WORKYARD_HARVEST_ALLOW_HOSTS/);
  });

  it('chooses the scaled shape from URLs alone', () => {
    const config = loadConfig({ WORKYARD_DATABASE_URL: 'postgres://u@h/db', WORKYARD_REDIS_URL: 'rediss://h:6380' });
    expect(shapeOf(config)).toBe('scaled');
    expect(config.redisUrl).toBe('rediss://h:6380');
  });

  it.each([
    ['WORKYARD_PORT', 'eighty', /WORKYARD_PORT="eighty" is invalid: expected a whole number/],
    ['WORKYARD_PORT', '70000', /WORKYARD_PORT/],
    ['WORKYARD_DATABASE_URL', 'mysql://x', /WORKYARD_DATABASE_URL.*postgres:\/\//],
    ['WORKYARD_REDIS_URL', 'not a url', /WORKYARD_REDIS_URL/],
    ['WORKYARD_BLOBS_WRITE_BEHIND', 'maybe', /WORKYARD_BLOBS_WRITE_BEHIND.*true or false/],
    ['WORKYARD_S3_ENDPOINT', 'http://127.0.0.1:9000', /WORKYARD_S3_BUCKET/],
    ['WORKYARD_COMPUTE_TASK_RETENTION_MS', '500', /WORKYARD_COMPUTE_TASK_RETENTION_MS="500" is invalid: expected a whole number from 1000/],
    ['WORKYARD_FEEDBACK_IDEMPOTENCY_KEY_RETENTION_MS', '1h', /WORKYARD_FEEDBACK_IDEMPOTENCY_KEY_RETENTION_MS="1h" is invalid: expected a whole number from 1000/],
  ])('refuses %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('takes S3 settings with path-style on for a custom endpoint', () => {
    const config = loadConfig({ WORKYARD_S3_ENDPOINT: 'http://127.0.0.1:9000', WORKYARD_S3_BUCKET: 'blobs' });
    expect(config.s3).toMatchObject({ endpoint: 'http://127.0.0.1:9000', bucket: 'blobs', region: 'us-east-1', forcePathStyle: true });
  });

  it('keeps resumable uploads in a bucket of their own, and lets them expire after a day by default', () => {
    expect(loadConfig({ WORKYARD_S3_BUCKET: 'blobs' }).s3?.uploadsBucket).toBe('blobs-uploads');
    expect(loadConfig({ WORKYARD_S3_BUCKET: 'blobs', WORKYARD_S3_UPLOADS_BUCKET: 'tus-parts' }).s3?.uploadsBucket).toBe('tus-parts');
    expect(() => loadConfig({ WORKYARD_S3_BUCKET: 'blobs', WORKYARD_S3_UPLOADS_BUCKET: 'blobs' })).toThrow(/WORKYARD_S3_UPLOADS_BUCKET.*other than WORKYARD_S3_BUCKET/);
    expect(() => loadConfig({ WORKYARD_S3_BUCKET: 'b'.repeat(60) })).toThrow(/WORKYARD_S3_UPLOADS_BUCKET.*too long/);
    expect(() => loadConfig({ WORKYARD_S3_BUCKET: 'blobs', WORKYARD_S3_UPLOADS_BUCKET: 'Not_A_Bucket' })).toThrow(/WORKYARD_S3_UPLOADS_BUCKET/);
    expect(loadConfig({}).blobs.uploadExpiryMs).toBe(24 * 3_600_000);
    expect(() => loadConfig({ WORKYARD_BLOBS_UPLOAD_EXPIRY_MS: '10' })).toThrow(/WORKYARD_BLOBS_UPLOAD_EXPIRY_MS="10" is invalid/);
  });

  it('leaves whether the S3 server honours conditional puts to the store to ask, unless told', () => {
    const conditional = (value?: string) => loadConfig({ WORKYARD_S3_BUCKET: 'blobs', ...(value === undefined ? {} : { WORKYARD_S3_CONDITIONAL_PUTS: value }) }).s3?.conditionalPuts;
    expect(conditional()).toBeUndefined();
    expect(conditional('auto')).toBeUndefined();
    expect(conditional('true')).toBe(true);
    expect(conditional('false')).toBe(false);
    expect(() => conditional('sometimes')).toThrow(/WORKYARD_S3_CONDITIONAL_PUTS.*auto, true or false/);
  });

  it('traces only when an OTLP endpoint or a traces exporter is named, and not when told none or disabled', () => {
    expect(loadConfig({}).tracing).toBeNull();
    expect(loadConfig({ OTEL_SERVICE_NAME: 'shop' }).tracing).toBeNull();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).tracing).toEqual({ serviceName: 'workyard' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector:4318/v1/traces', OTEL_SERVICE_NAME: 'shop' }).tracing).toEqual({ serviceName: 'shop' });
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'console' }).tracing).toEqual({ serviceName: 'workyard' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' }).tracing).toBeNull();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }).tracing).toBeNull();
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', /OTEL_EXPORTER_OTLP_ENDPOINT.*URL/],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http/xml', /OTEL_EXPORTER_OTLP_PROTOCOL.*http\/protobuf, http\/json, grpc/],
    ['OTEL_TRACES_EXPORTER', 'otlp,jaeger', /OTEL_TRACES_EXPORTER.*otlp, console, zipkin, none/],
  ])('refuses %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});
