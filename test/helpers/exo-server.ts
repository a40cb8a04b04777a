/**
 * A loopback HTTPS server standing in for Entra ID's token endpoint and Exchange Online's
 * `adminapi/beta/<tenant>/InvokeCommand` (the request/response shape of eop-behaviour.md §10.1): token check,
 * `CmdletInput` body, paging with `@odata.nextLink`, a 429 with Retry-After, a 401, a malformed body, error bodies that
 * echo the token or the client assertion.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import selfsigned from 'selfsigned';

export interface ExoServerOptions {
  tenant: string;
  clientId: string;
  /** SHA-256 thumbprint (hex) the client assertion must name. */
  thumbprintSha256: string;
  /** Rows per cmdlet. */
  rows: Record<string, unknown[]>;
  pageSize: number;
  /** Cmdlets answered once with 429 and this Retry-After (seconds). */
  throttleOnce?: Record<string, number>;
  /** Cmdlets answered with an error status and the service's error body. */
  fail?: Record<string, { status: number; message: string }>;
  /** Cmdlets answered with a body that is not JSON. */
  malformed?: string[];
  /** Cmdlets answered with a 400 whose error body echoes the request's token (as a header, a field, a bare value). */
  echoToken?: string[];
  /** The token endpoint refuses every client assertion, echoing it in the error description. */
  echoAssertion?: boolean;
}

export interface RunningExoServer {
  url: string;
  ca: string;
  authorityMetadata: string;
  /** `METHOD path` of every request, in order. */
  log: string[];
  /** Bodies of InvokeCommand requests (parsed). */
  invoked: { CmdletInput: { CmdletName: string; Parameters: Record<string, unknown> } }[];
  anchors: string[];
  /** Client assertions received by the token endpoint. */
  assertions: string[];
  /** Access tokens issued. */
  tokens: string[];
  close(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1 that is its own CA (trust it with `ca: pems.cert`). */
export function loopbackCertificate(): ReturnType<typeof selfsigned.generate> {
  return selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 7 as const, ip: '127.0.0.1' }] },
    ],
  });
}

export async function startExoServer(options: ExoServerOptions): Promise<RunningExoServer> {
  const pems = await loopbackCertificate();
  const tokens = new Set<string>();
  const throttled = new Set<string>();
  const log: string[] = [];
  const invoked: RunningExoServer['invoked'] = [];
  const anchors: string[] = [];
  const assertions: string[] = [];
  let base = '';
  const server: Server = createServer({ cert: pems.cert, key: pems.private }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', base);
      log.push(`${req.method} ${url.pathname}`);
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
        res.end(JSON.stringify(value));
      };
      if (req.method === 'POST' && url.pathname === `/${options.tenant}/oauth2/v2.0/devicecode`) {
        const form = new URLSearchParams(body);
        if (form.get('client_id') !== options.clientId) return json(400, { error: 'unauthorized_client', error_description: 'AADSTS700016: unknown application' });
        return json(200, { device_code: 'device-code-1', user_code: 'ABCD-EFGH', verification_uri: `${base}/devicelogin`, expires_in: 900, interval: 1, message: `To sign in, open ${base}/devicelogin and enter the code ABCD-EFGH.` });
      }
      if (req.method === 'POST' && url.pathname === `/${options.tenant}/oauth2/v2.0/token` && new URLSearchParams(body).get('grant_type') === 'device_code') {
        const form = new URLSearchParams(body);
        if (form.get('device_code') !== 'device-code-1' || form.get('client_id') !== options.clientId) return json(400, { error: 'invalid_grant', error_description: 'AADSTS70000: bad device code' });
        const token = `token-${tokens.size + 1}-${Math.random().toString(36).slice(2)}`;
        tokens.add(token);
        return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, scope: form.get('scope') ?? '', access_token: token });
      }
      if (req.method === 'POST' && url.pathname === `/${options.tenant}/oauth2/v2.0/token`) {
        const form = new URLSearchParams(body);
        const assertion = form.get('client_assertion') ?? '';
        assertions.push(assertion);
        const header = JSON.parse(Buffer.from(assertion.split('.')[0] ?? '', 'base64url').toString('utf8') || '{}') as Record<string, string>;
        const thumbprint = header['x5t#S256'] ? Buffer.from(header['x5t#S256'], 'base64url').toString('hex') : '';
        if (options.echoAssertion) {
          return json(401, { error: 'invalid_client', error_description: `AADSTS7000274: Client assertion ${assertion} is not valid (client_assertion=${assertion}).\r\nTrace ID: x` });
        }
        if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== options.clientId || form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' || assertion.split('.').length !== 3 || thumbprint !== options.thumbprintSha256) {
          return json(401, { error: 'invalid_client', error_description: 'AADSTS700027: Client assertion failed signature validation.\r\nTrace ID: x' });
        }
        if (form.get('scope') !== `${base}/.default`) return json(400, { error: 'invalid_scope', error_description: `AADSTS70011: bad scope ${form.get('scope')}` });
        const token = `token-${tokens.size + 1}-${Math.random().toString(36).slice(2)}`;
        tokens.add(token);
        return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
      }
      if (req.method === 'POST' && url.pathname === `/adminapi/beta/${options.tenant}/InvokeCommand`) {
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        if (!tokens.has(token)) return json(401, { error: { code: 'Unauthorized', message: 'The token is invalid.' } });
        anchors.push(String(req.headers['x-anchormailbox'] ?? ''));
        const input = JSON.parse(body) as RunningExoServer['invoked'][number];
        invoked.push(input);
        const cmdlet = input.CmdletInput.CmdletName;
        if (options.throttleOnce?.[cmdlet] !== undefined && !throttled.has(cmdlet)) {
          throttled.add(cmdlet);
          return json(429, { error: { code: 'TooManyRequests', message: 'Too many requests' } }, { 'Retry-After': String(options.throttleOnce[cmdlet]) });
        }
        if (options.echoToken?.includes(cmdlet)) {
          const echo = `Authorization: Bearer ${token}; access_token=${token}; the token ${token} is not valid for ${cmdlet}`;
          return json(400, { error: { code: 'BadRequest', message: echo, details: [{ message: echo }] } });
        }
        const failure = options.fail?.[cmdlet];
        if (failure) return json(failure.status, { error: { code: 'Failure', message: 'outer', details: [{ message: failure.message }] } });
        if (options.malformed?.includes(cmdlet)) {
          res.writeHead(200, { 'Content-Type': 'text/html' });
          return res.end('<html><body>Service Unavailable</body></html>');
        }
        const rows = options.rows[cmdlet] ?? [];
        const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
        const page = rows.slice(skip, skip + options.pageSize);
        const next = skip + options.pageSize < rows.length ? `${base}/adminapi/beta/${options.tenant}/InvokeCommand?$skiptoken=${skip + options.pageSize}` : undefined;
        return json(200, { '@odata.context': `${base}/adminapi/beta/${options.tenant}/$metadata#${cmdlet}`, value: page, ...(next ? { '@odata.nextLink': next } : {}) });
      }
      json(404, { error: { code: 'NotFound', message: `no route ${req.method} ${url.pathname}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const authorityMetadata = JSON.stringify({
    token_endpoint: `${base}/${options.tenant}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt'],
    jwks_uri: `${base}/${options.tenant}/discovery/v2.0/keys`,
    response_types_supported: ['code', 'id_token', 'token'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_mode_supported: ['query', 'fragment', 'form_post'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/${options.tenant}/v2.0`,
    authorization_endpoint: `${base}/${options.tenant}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/${options.tenant}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/${options.tenant}/oauth2/v2.0/logout`,
    tenant_region_scope: 'EU',
  });
  return {
    url: base,
    ca: pems.cert,
    authorityMetadata,
    log,
    invoked,
    anchors,
    assertions,
    get tokens() {
      return [...tokens];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
