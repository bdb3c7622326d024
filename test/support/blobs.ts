// Helpers the blobs tests share: raw HTTP where app.inject cannot do it (chunked bodies, a body
// cut off midway, a 413 answered before the body is sent) and waiting for uploads to finish.
import http from 'node:http';
import type { Readable } from 'node:stream';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** An HTTP request over a real socket; `body` streams (chunked unless a content-length header is given). */
export function rawRequest(baseUrl: string, options: { method: string; path: string; headers?: Record<string, string | number>; body?: Readable | Buffer }): Promise<RawResponse> {
  const url = new URL(options.path, baseUrl);
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method, headers: options.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    if (!options.body) request.end();
    else if (Buffer.isBuffer(options.body)) request.end(options.body);
    else {
      // The server may answer (413) and close before the body is sent: that is not our error.
      options.body.on('error', (error) => request.destroy(error));
      options.body.pipe(request);
    }
  });
}

export const blobPath = (key: string) => '/blobs/' + key.split('/').map(encodeURIComponent).join('/');
