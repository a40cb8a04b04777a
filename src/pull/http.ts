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
}

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
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
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
