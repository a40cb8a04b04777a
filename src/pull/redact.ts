/**
 * Secrets out of service text. Sign-in and API error bodies can echo what was sent: the bearer token, the client
 * assertion (a JWT signed with the app's key), an `Authorization` header, token fields of a form or a JSON body.
 * Every piece of server or MSAL text that leaves the pull module (an error message, a warning kept in the snapshot,
 * a prompt) passes through {@link redactSecrets} first.
 */

const REDACTED = '[redacted]';

/** `Authorization: <value>` as a header line, a JSON member or a form field: the value, to the end of the line or quote. */
const AUTHORIZATION = /\b(authorization\\?["']?[ \t]*[:=][ \t]*\\?["']?)[^\r\n"'\\,;}]+/gi;
/** `Bearer <token>` (a token is long: `Bearer of bad news` stays as it is). */
const BEARER = /\b(bearer[ \t]+)[A-Za-z0-9\-._~+/]{8,}=*/gi;
/**
 * A token or assertion field: `access_token=…`, `"refresh_token": "…"`, `client_assertion=…` (form, JSON, escaped
 * JSON); the value in the characters of tokens, secrets and form encoding.
 */
const FIELD = /\b((?:access_token|refresh_token|id_token|client_assertion|client_secret|assertion|device_code)\\?["']?[ \t]*[:=][ \t]*\\?["']?)[A-Za-z0-9\-._~+/=%]+/gi;
/**
 * A JWT (or JWE): base64url segments joined by dots, the first a JSON header (`{"` → `eyJ`). It starts where no
 * base64url character precedes, and its first segment is taken whole (a lookahead and back-reference, which does not
 * backtrack): each character is looked at a bounded number of times.
 */
const JWT = /(?<![A-Za-z0-9_-])eyJ(?=([A-Za-z0-9_-]+))\1(?:\.[A-Za-z0-9_-]*){1,4}/g;

/**
 * The text with bearer tokens, JWTs, client assertions, token fields and `Authorization` values replaced by
 * `[redacted]`; `known` secrets (the token that was sent) are replaced wherever they appear. Linear in the text.
 */
export function redactSecrets(text: string, known: readonly string[] = []): string {
  let out = text;
  for (const secret of known) if (secret.length >= 8) out = out.split(secret).join(REDACTED);
  return out
    .replace(AUTHORIZATION, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`)
    .replace(FIELD, `$1${REDACTED}`)
    .replace(JWT, REDACTED);
}
