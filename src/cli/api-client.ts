// How the operator commands talk to a running Workyard: its HTTP API with the admin key, every
// failure turned into one sentence an operator can act on (which URL did not answer, which
// variable to set) instead of a stack trace.

/** A failure the command reports in one line and exits with: 1 for the server's or network's, 2 for a bad command line. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** One server-sent event as the server wrote it: its name and its data parsed as JSON. */
export interface ServerEvent {
  event: string;
  data: unknown;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** How long an ordinary request may take; event streams have no limit. */
const REQUEST_TIMEOUT_MS = 30_000;

/** `created_after` → `--created-after`: the server names its fields, the operator typed options. */
const asOption = (field: string) => `--${field.replaceAll('_', '-')}`;

export class ApiClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly apiKey: string | undefined,
  ) {
    let parsed: URL;
    try {
      parsed = new URL(baseUrl);
    } catch {
      throw new CliError(`--url: not a URL: ${baseUrl}`, 2);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliError(`--url: must be an http:// or https:// URL, not ${baseUrl}`, 2);
    // A base path is kept (a server behind a proxy under /workyard/), without its trailing slash.
    this.baseUrl = parsed.href.replace(/\/+$/, '');
  }

  async get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<ApiResponse<T>> {
    const search = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
    return this.request<T>('GET', search.size ? `${path}?${search}` : path);
  }

  post<T>(path: string, body?: unknown): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const response = await this.send(method, path, body, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      throw new CliError(`${method} ${this.baseUrl}${path} answered ${response.status} with something other than JSON: is ${this.baseUrl} a Workyard?`);
    }
    return { status: response.status, body: parsed as T };
  }

  /**
   * Reads the server-sent events of `path`, calling onEvent for each, until the server ends the
   * stream (resolves) or `signal` aborts (resolves too: the caller chose to stop).
   */
  async events(path: string, onEvent: (event: ServerEvent) => void, signal?: AbortSignal): Promise<void> {
    let response: Response;
    try {
      response = await this.send('GET', path, undefined, signal, 'text/event-stream');
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    }
    if (!response.body) return;
    let buffer = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true }).replaceAll('\r\n', '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseEventBlock(block);
          if (event) onEvent(event);
        }
      }
    } catch (error) {
      if (signal?.aborted) return;
      throw new CliError(`the event stream from ${this.baseUrl}${path} broke off: ${describeCause(error)}`);
    }
  }

  /** The response when its status is 2xx; a CliError naming what to do otherwise. */
  private async send(method: string, path: string, body: unknown, signal: AbortSignal | undefined, accept = 'application/json'): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    } catch (error) {
      if (signal?.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError') {
        throw new CliError(`${this.baseUrl} did not answer ${method} ${path} within ${REQUEST_TIMEOUT_MS / 1000} s`);
      }
      if (signal?.aborted) throw error;
      throw new CliError(`cannot reach Workyard at ${this.baseUrl} (${describeCause(error)}): is it running? --url or WORKYARD_URL say where it is`);
    }
    if (response.ok) return response;
    const message = await errorMessage(response);
    switch (response.status) {
      case 401:
        throw new CliError(
          this.apiKey
            ? `${this.baseUrl} refused the API key (401): set WORKYARD_API_KEY to the server's key`
            : `${this.baseUrl} needs the API key (401): set WORKYARD_API_KEY to the server's key`,
        );
      case 400: {
        // A path parameter (the task's id) is not an option; a query or body field is.
        const option = message.field && message.field !== 'id' ? ` (${asOption(message.field)})` : '';
        throw new CliError(`${message.text}${option} (400)`);
      }
      default:
        throw new CliError(`${message.text} (${response.status}${message.code ? ` ${message.code}` : ''})`);
    }
  }
}

async function errorMessage(response: Response): Promise<{ text: string; code?: string; field?: string }> {
  const text = await response.text().catch(() => '');
  try {
    const { error } = JSON.parse(text) as { error?: { message?: string; code?: string; field?: string } };
    if (error?.message) return { text: error.message, code: error.code, field: error.field };
  } catch {
    // not the standard error shape: a proxy's page, say
  }
  return { text: `${response.url} answered ${response.status} ${response.statusText}`.trim() };
}

/** undici wraps the reason a connection failed (ECONNREFUSED, ENOTFOUND…) as the cause of "fetch failed". */
function describeCause(error: unknown): string {
  let cause: unknown = error;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  return String(cause);
}

/** One event block of a text/event-stream; null for comments (keep-alives) and `retry:` lines. */
export function parseEventBlock(block: string): ServerEvent | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  const text = data.join('\n');
  try {
    return { event, data: JSON.parse(text) };
  } catch {
    return { event, data: text };
  }
}
