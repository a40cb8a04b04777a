/**
 * A read-only client for Exchange Online's `adminapi/beta/<tenant>/InvokeCommand` endpoint — the one the
 * ExchangeOnlineManagement v3 module uses. NOT a supported Microsoft API (eop-behaviour.md §10.1, S54, S55): it may
 * change without notice. Follows `@odata.nextLink`, honours `Retry-After` on 429/503 with bounded retries, and reports
 * errors with the cmdlet and the service's message. Only `Get-` cmdlets are accepted.
 */
import { httpsRequest, type HttpResponse } from './http.js';
import { redactSecrets } from './redact.js';

/** A failed call. Its message can quote the service: secrets in it are redacted ({@link redactSecrets}). */
export class ExoApiError extends Error {
  constructor(
    message: string,
    readonly cmdlet: string,
    readonly status: number | null,
    /** Secrets known to the caller (the token sent), redacted wherever they appear. */
    secrets: readonly string[] = [],
  ) {
    super(redactSecrets(message, secrets));
  }
}

export interface ExoClientOptions {
  /** `https://outlook.office365.com` or another cloud's host. */
  baseUrl: string;
  /** Tenant id (GUID) or initial domain. */
  tenant: string;
  /** Returns a bearer token for `<baseUrl>/.default`; called per request (MSAL caches in memory). */
  token: () => Promise<string>;
  /** App-only calls anchor on the system mailbox with the tenant id (S55, S63). */
  appOnly: boolean;
  ca?: string;
  maxRetries?: number;
  /** Longest wait honoured from a Retry-After header, in seconds. */
  maxRetryAfterSeconds?: number;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (cmdlet: string, attempt: number, waitSeconds: number, status: number) => void;
}

const SYSTEM_MAILBOX = 'SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}';

function serviceMessage(text: string): string | null {
  try {
    const body = JSON.parse(text) as { error?: { message?: string; details?: { message?: string }[]; innererror?: { internalException?: { message?: string } } } };
    const error = body.error;
    if (!error) return null;
    return error.details?.find((detail) => detail.message)?.message ?? error.innererror?.internalException?.message ?? error.message ?? null;
  } catch {
    return null;
  }
}

/** Rows without the OData sidecar keys (`Prop@odata.type`, `@odata.type`). */
function cleanRow(row: unknown): unknown {
  if (!row || typeof row !== 'object' || Array.isArray(row)) return row;
  return Object.fromEntries(Object.entries(row as Record<string, unknown>).filter(([key]) => !key.includes('@')));
}

export class ExoClient {
  constructor(private readonly options: ExoClientOptions) {}

  private get endpoint(): string {
    return `${this.options.baseUrl.replace(/\/$/, '')}/adminapi/beta/${encodeURIComponent(this.options.tenant)}/InvokeCommand`;
  }

  /** Runs one read-only cmdlet and returns every row across pages, plus the service's warnings. */
  async invoke(cmdlet: string, parameters: Record<string, unknown> = {}): Promise<{ rows: unknown[]; warnings: string[] }> {
    if (!/^Get-[A-Za-z]+$/.test(cmdlet)) throw new ExoApiError(`refusing "${cmdlet}": eoplock pull only runs Get- cmdlets`, cmdlet, null);
    const body = JSON.stringify({ CmdletInput: { CmdletName: cmdlet, Parameters: parameters } });
    const rows: unknown[] = [];
    const warnings: string[] = [];
    let url: string | null = this.endpoint;
    let pages = 0;
    while (url) {
      if (++pages > 1000) throw new ExoApiError('more than 1000 pages: stopping', cmdlet, null);
      const response = await this.send(cmdlet, url, body);
      let parsed: { value?: unknown; '@odata.nextLink'?: unknown; '@adminapi.warnings'?: unknown };
      try {
        parsed = JSON.parse(response.text) as typeof parsed;
      } catch {
        throw new ExoApiError(`the service answered with something that is not JSON (${redactSecrets(response.text, [response.token]).slice(0, 80).replace(/\s+/g, ' ')}…)`, cmdlet, response.status, [response.token]);
      }
      if (!Array.isArray(parsed.value)) throw new ExoApiError('the answer has no "value" list', cmdlet, response.status);
      rows.push(...parsed.value.map(cleanRow));
      if (Array.isArray(parsed['@adminapi.warnings'])) warnings.push(...parsed['@adminapi.warnings'].map((warning) => redactSecrets(String(warning), [response.token])));
      const next = parsed['@odata.nextLink'];
      if (next !== undefined && typeof next !== 'string') throw new ExoApiError('@odata.nextLink is not a URL', cmdlet, response.status);
      if (next && new URL(next, url).origin !== new URL(this.endpoint).origin) throw new ExoApiError(`refusing to follow @odata.nextLink to another host (${new URL(next, url).host})`, cmdlet, response.status);
      url = next ? new URL(next, url).href : null;
    }
    return { rows, warnings };
  }

  /** One request, with retries; the answer and the token it was sent with. */
  private async send(cmdlet: string, url: string, body: string): Promise<HttpResponse & { token: string }> {
    const maxRetries = this.options.maxRetries ?? 4;
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    for (let attempt = 0; ; attempt++) {
      const token = await this.options.token();
      const anchor = this.options.appOnly ? `APP:${SYSTEM_MAILBOX}@${this.options.tenant}` : `UPN:${SYSTEM_MAILBOX}@${this.options.tenant}`;
      let response: HttpResponse;
      try {
        response = await httpsRequest(url, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json', 'X-AnchorMailbox': anchor, Prefer: 'odata.maxpagesize=1000' },
          body,
          ...(this.options.ca ? { ca: this.options.ca } : {}),
        });
      } catch (error) {
        throw new ExoApiError(`cannot reach ${new URL(url).host}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, cmdlet, null, [token]);
      }
      if (response.status >= 200 && response.status < 300) return { ...response, token };
      const message = serviceMessage(response.text);
      if ((response.status === 429 || response.status === 503) && attempt < maxRetries) {
        const header = Number(response.headers['retry-after']);
        const wait = Math.min(Number.isFinite(header) && header >= 0 ? header : 2 ** attempt, this.options.maxRetryAfterSeconds ?? 120);
        this.options.onRetry?.(cmdlet, attempt + 1, wait, response.status);
        await sleep(wait * 1000);
        continue;
      }
      if (response.status === 401) throw new ExoApiError(`the service refused the token (401)${message ? `: ${message}` : ''}. App-only needs Exchange.ManageAsApp with admin consent and a directory role (S56)`, cmdlet, 401, [token]);
      if (response.status === 403) throw new ExoApiError(`not allowed (403)${message ? `: ${message}` : ''}: the account lacks an Exchange role that can run ${cmdlet}`, cmdlet, 403, [token]);
      throw new ExoApiError(`HTTP ${response.status}${message ? `: ${message}` : ''}${response.status === 429 || response.status === 503 ? ` (still throttled after ${maxRetries} retries)` : ''}`, cmdlet, response.status, [token]);
    }
  }
}
