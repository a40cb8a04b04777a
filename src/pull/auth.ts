/**
 * Tokens for Exchange Online with MSAL for Node: app-only with a certificate, or the device-code flow for a person.
 * Tokens stay in MSAL's in-memory cache; nothing secret is printed, logged or written.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { ConfidentialClientApplication, LogLevel, PublicClientApplication, type Configuration, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { InputError } from '../errors.js';
import { httpsRequest } from './http.js';
import { visible } from '../util/display.js';
import { redactSecrets } from './redact.js';

export interface AuthEndpoints {
  /** Sign-in host, `https://login.microsoftonline.com` (or a loopback test authority). */
  login: string;
  /** Token resource: the Exchange Online host. */
  resource: string;
  /** Extra trusted CA (tests); production uses Node's roots. */
  ca?: string;
  /** Authority metadata (JSON) for an authority MSAL cannot discover (tests). */
  authorityMetadata?: string;
}

/** MSAL's HTTP through node:https (so a CA can be added for a loopback authority). */
function networkClient(ca: string | undefined): INetworkModule {
  const send = async <T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const response = await httpsRequest(url, { method, ...(options?.headers ? { headers: options.headers } : {}), ...(options?.body !== undefined ? { body: options.body } : {}), ...(ca ? { ca } : {}) });
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      body = {};
    }
    return { status: response.status, headers: response.headers, body: body as T };
  };
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

function configuration(clientId: string, tenant: string, endpoints: AuthEndpoints): Configuration {
  const authority = `${endpoints.login.replace(/\/$/, '')}/${tenant}`;
  const host = new URL(endpoints.login).host;
  return {
    auth: {
      clientId,
      authority,
      ...(endpoints.authorityMetadata ? { authorityMetadata: endpoints.authorityMetadata, knownAuthorities: [host] } : {}),
    },
    system: {
      networkClient: networkClient(endpoints.ca),
      // Errors only, and never with personal data: MSAL's own messages can name accounts.
      loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => undefined },
    },
  };
}

/** The certificate file: PEM with the certificate and its private key (or `--key` separately). */
export function readCertificate(pem: string, keyPem: string | undefined, file: string): { thumbprintSha256: string; privateKey: string; x5c: string } {
  const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  if (!certificateBlock) throw new InputError('no PEM certificate (-----BEGIN CERTIFICATE-----) in the file', { file });
  const keyBlock = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(keyPem ?? pem)?.[0];
  if (!keyBlock) throw new InputError('no PEM private key in the file (give it in the same file or with --key)', { file });
  if (/ENCRYPTED/.test(keyBlock)) throw new InputError('the private key is encrypted; give an unencrypted PEM key (keep the file readable only by you)', { file });
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificateBlock);
    // MSAL wants PKCS#8 ("BEGIN PRIVATE KEY").
    const privateKey = createPrivateKey(keyBlock).export({ format: 'pem', type: 'pkcs8' }).toString();
    const thumbprintSha256 = createHash('sha256').update(certificate.raw).digest('hex');
    return { thumbprintSha256, privateKey, x5c: certificateBlock };
  } catch (error) {
    throw new InputError(`cannot read the certificate or key: ${(error as Error).message}`, { file });
  }
}

export type TokenSource = () => Promise<string>;

/** App-only: client credentials with a certificate (the unattended case). */
export function appOnlyTokens(clientId: string, tenant: string, certificate: { thumbprintSha256: string; privateKey: string; x5c: string }, endpoints: AuthEndpoints): TokenSource {
  const config = configuration(clientId, tenant, endpoints);
  const app = new ConfidentialClientApplication({ ...config, auth: { ...config.auth, clientCertificate: certificate } });
  const scopes = [`${endpoints.resource.replace(/\/$/, '')}/.default`];
  return async () => {
    try {
      const result = await app.acquireTokenByClientCredential({ scopes });
      if (!result?.accessToken) throw new Error('no access token in the answer');
      return result.accessToken;
    } catch (error) {
      throw new InputError(`sign-in failed: ${describeAuthError(error)}`, { where: '--app-id/--certificate' });
    }
  };
}

/** A person signs in on another device with a code; the prompt goes to `prompt` (stderr). */
export function deviceCodeTokens(clientId: string, tenant: string, endpoints: AuthEndpoints, prompt: (message: string) => void): TokenSource {
  const app = new PublicClientApplication(configuration(clientId, tenant, endpoints));
  const scopes = [`${endpoints.resource.replace(/\/$/, '')}/.default`];
  let account: Awaited<ReturnType<typeof app.acquireTokenByDeviceCode>> = null;
  return async () => {
    try {
      if (account?.account) {
        const silent = await app.acquireTokenSilent({ account: account.account, scopes }).catch(() => null);
        if (silent?.accessToken) return silent.accessToken;
      }
      account = await app.acquireTokenByDeviceCode({ scopes, deviceCodeCallback: (response) => prompt(`${visible(redactSecrets(response.message))}\n`) });
      if (!account?.accessToken) throw new Error('no access token in the answer');
      return account.accessToken;
    } catch (error) {
      throw new InputError(`sign-in failed: ${describeAuthError(error)}`, { where: '--device-code' });
    }
  };
}

/** MSAL's error, first line, with any secret the service echoed (the client assertion, a token) redacted. */
function describeAuthError(error: unknown): string {
  const value = error as { errorCode?: string; errorMessage?: string; message?: string };
  // AADSTS messages carry trace and correlation ids on later lines; the first line says what is wrong.
  const message = (value.errorMessage || value.message || String(error)).split(/\r?\n/)[0] ?? '';
  return redactSecrets(`${value.errorCode ? `${value.errorCode}: ` : ''}${message}`);
}
