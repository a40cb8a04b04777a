/**
 * One HTTPS request with node:https (so a test can trust its own loopback CA without touching process-wide settings).
 */
import { request } from 'node:https';

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface HttpOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Extra trusted CA certificates (PEM); default: Node's bundled roots. */
  ca?: string;
  timeoutMs?: number;
  /** The largest response body read (default {@link MAX_RESPONSE_BYTES}); a larger one fails the request. */
  maxBytes?: number;
}

/** 256 MiB: far more than one page of cmdlet output, far less than what would exhaust memory. */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export function httpsRequest(url: string, options: HttpOptions = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: { ...(options.headers ?? {}), ...(options.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(options.body)) } : {}) },
        ...(options.ca ? { ca: options.ca } : {}),
        timeout: options.timeoutMs ?? 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const maxBytes = options.maxBytes ?? MAX_RESPONSE_BYTES;
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy(new Error(`the answer from ${new URL(url).host} is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB: refused`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
          resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${new URL(url).host} within ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s`)));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
