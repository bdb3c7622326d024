// Every error Workyard answers with has one JSON shape:
//   {"error": {"code": "validation_failed", "message": "...", "field": "numbers"}}
// Codes are declared here once and reused everywhere, so clients can branch on them.
import { type Static, Type } from 'typebox';

export const ErrorCodes = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  gone: 410,
  precondition_failed: 412,
  payload_too_large: 413,
  uri_too_long: 414,
  expectation_failed: 417,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  range_not_satisfiable: 416,
  rate_limited: 429,
  headers_too_large: 431,
  internal_error: 500,
  dependency_unavailable: 503,
  timeout: 504,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

// The shape as a JSON schema, registered once (app.addSchema) so that /openapi.json describes it
// once: every route's 4xx and 5xx answers refer to it as ErrorReply.
export const ErrorSchema = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.Unsafe<ErrorCode>({ type: 'string', enum: Object.keys(ErrorCodes), description: 'what went wrong, for clients to branch on' }),
        message: Type.String({ description: 'what went wrong, for people' }),
        field: Type.Optional(Type.String({ description: 'the input it is about: a body field, a query parameter, a header' })),
        dependency: Type.Optional(Type.String({ description: 'dependency_unavailable: the engine that did not answer (also Retry-After: 1)' })),
        retry_after_s: Type.Optional(Type.Integer({ description: 'rate_limited: seconds until a retry may pass' })),
        task_id: Type.Optional(Type.String({ description: 'the task the answer is about, when it goes on (timeout) or failed' })),
      },
      { additionalProperties: true },
    ),
  },
  { $id: 'WorkyardError', description: 'An error: `code` says which, `message` says why', examples: [{ error: { code: 'validation_failed', message: 'numbers: must NOT have fewer than 1 items', field: 'numbers' } }] },
);

export const ErrorReply = Type.Ref('WorkyardError');
export type ErrorBody = Static<typeof ErrorSchema>;

export class AppError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { field?: string; dependency?: string; [extra: string]: unknown } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.statusCode = ErrorCodes[code];
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export const validationError = (field: string, message: string) =>
  new AppError('validation_failed', message, { field });

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);

/** The name of an engine Workyard depends on, as clients see it in 503 answers and /readyz. */
export type DependencyName = 'redis' | 'postgres' | 'sqlite' | 's3' | 'disk';

export class DependencyUnavailableError extends AppError {
  constructor(
    readonly dependency: DependencyName,
    cause?: unknown,
  ) {
    const reason = cause instanceof Error ? `: ${cause.message}` : '';
    super('dependency_unavailable', `${dependency} is unavailable${reason}`, { dependency });
    this.name = 'DependencyUnavailableError';
  }
}

export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}
