/**
 * redactSecrets(): every form in which a sign-in or API error can echo a secret, what it leaves alone, and linear time
 * on hostile text.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redactSecrets } from '../../src/pull/redact.js';

const JWT = 'eyJhbGciOiJSUzI1NiIsIng1dCNTMjU2IjoiYWJjIn0.eyJhdWQiOiJodHRwczovL2xvZ2luIiwic3ViIjoiMTExIn0.c2lnbmF0dXJlLXNlY3JldA';

describe('redactSecrets', () => {
  const cases: [string, string, string][] = [
    ['an Authorization header line', 'request had Authorization: Bearer abcdefgh.ijkl-mnop', 'request had Authorization: [redacted]'],
    ['an Authorization header, another scheme', 'authorization=Basic dXNlcjpwYXNzd29yZA==\nnext line', 'authorization=[redacted]\nnext line'],
    ['Authorization as a JSON member', '{"Authorization": "Bearer s3cr3t-t0ken-value"}', '{"Authorization": "[redacted]"}'],
    ['Authorization in escaped JSON', '{"message":"header \\"Authorization\\": \\"Bearer s3cr3t-t0ken-value\\""}', '{"message":"header \\"Authorization\\": \\"[redacted]\\""}'],
    ['a bearer token in prose', 'the token Bearer abc.def.ghi-jkl_mno was refused', 'the token Bearer [redacted] was refused'],
    ['a JWT', `AADSTS700027: Client assertion ${JWT} failed signature validation.`, 'AADSTS700027: Client assertion [redacted] failed signature validation.'],
    ['a JWT with an empty signature', 'alg none: eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. end', 'alg none: [redacted] end'],
    ['a client assertion in a form', `grant_type=client_credentials&client_assertion=${JWT}&client_id=1`, 'grant_type=client_credentials&client_assertion=[redacted]&client_id=1'],
    ['token fields in JSON', '{"access_token":"opaque-123456","refresh_token": "r-abcdef", "id_token":"x"}', '{"access_token":"[redacted]","refresh_token": "[redacted]", "id_token":"[redacted]"}'],
    ['token fields in a form', 'access_token=abc&refresh_token=def&scope=x', 'access_token=[redacted]&refresh_token=[redacted]&scope=x'],
    ['a client secret', 'client_secret=Sup3r~Secret.Value', 'client_secret=[redacted]'],
    ['several in one line', `Bearer ${JWT} and Authorization: Basic abc`, 'Bearer [redacted] and Authorization: [redacted]'],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => assert.equal(redactSecrets(input), expected));
  }

  test('text without secrets is unchanged', () => {
    for (const text of [
      'HTTP 500: The operation could not be performed because object could not be found.',
      'Bearer of bad news', // a short word after "Bearer" is not a token
      'AADSTS70011: The provided value for the input parameter \'scope\' is not valid.',
      'the eyJ prefix alone: eyJ',
      'tokens: 12 issued',
    ]) {
      assert.equal(redactSecrets(text), text);
    }
  });

  test('a known secret (the token that was sent) is redacted wherever it appears, however it looks', () => {
    assert.equal(redactSecrets('the token token-1-k2j3h4 is not valid (token-1-k2j3h4)', ['token-1-k2j3h4']), 'the token [redacted] is not valid ([redacted])');
    assert.equal(redactSecrets('short ones are not searched: ab', ['ab']), 'short ones are not searched: ab');
  });

  test('linear on hostile text', { timeout: 10_000 }, () => {
    const started = performance.now();
    for (const evil of [
      'eyJa-'.repeat(200_000),
      `eyJ${'a'.repeat(1_000_000)}`,
      '.eyJ'.repeat(250_000),
      'Bearer '.repeat(150_000),
      'authorization:'.repeat(70_000),
      'access_token='.repeat(80_000),
      `${'a'.repeat(999_999)}!`,
    ]) {
      redactSecrets(evil, ['known-secret-value']);
    }
    assert.ok(performance.now() - started < 3_000, `took ${Math.round(performance.now() - started)} ms`);
  });
});
