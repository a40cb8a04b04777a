/**
 * RFC 5321 syntax: domains, address literals, mailboxes, Exchange domain patterns, and the command-line guard.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError } from '../../src/errors.js';
import {
  assertSmtpLine,
  isAddressLiteral,
  isDomainName,
  isDomainPattern,
  isEhloName,
  isLocalPart,
  isMailbox,
  isReversePath,
} from '../../src/util/smtp-syntax.js';

const label63 = 'a'.repeat(63);
const label64 = 'a'.repeat(64);
/** 253 octets: four labels of 62 and one of 1, joined by dots (4 × 62 + 1 + 4 = 253). */
const domain253 = `${Array.from({ length: 4 }, () => 'b'.repeat(62)).join('.')}.c`;
const domain254 = `${domain253}c`;

describe('isDomainName', () => {
  for (const value of ['contoso.com', 'mail.contoso.co.uk', 'localhost', 'xn--bcher-kva.example', 'bücher.example', 'a-b.example', '123.example', `${label63}.example`, domain253, 'EOPLOCK-PROBE.INVALID']) {
    test(`accepts ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`, () => assert.equal(isDomainName(value), true));
  }
  for (const value of [
    '',
    'contoso.com.',
    '.contoso.com',
    'contoso..com',
    '-contoso.com',
    'contoso-.com',
    'con_toso.com',
    'contoso .com',
    'contoso.com\r\n',
    'contoso.com\r\nDATA',
    'contoso\u0000.com',
    'contoso\u001b.com',
    'contoso\u2028.com',
    'con\u202etoso.com',
    'contoso\u00a0.com',
    '*.contoso.com',
    '[192.0.2.1]',
    `${label64}.example`,
    domain254,
    `${'é'.repeat(32)}.example`, // 64 octets in UTF-8
  ]) {
    test(`refuses ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`, () => assert.equal(isDomainName(value), false));
  }
  test('the limits are counted in octets: 253 passes, 254 does not, a 63-octet label passes, 64 does not', () => {
    assert.equal(domain253.length, 253);
    assert.equal(isDomainName(domain253), true);
    assert.equal(isDomainName(domain254), false);
    assert.equal(isDomainName(`${'é'.repeat(31)}a.example`), true);
  });
});

describe('isAddressLiteral', () => {
  for (const value of ['[192.0.2.1]', '[IPv6:2001:db8::1]', '[ipv6:::1]', '[IPv6:1:2:3:4:5:6:7:8]', '[IPv6:::ffff:192.0.2.1]', '[IPv6:1:2:3:4:5:6:192.0.2.1]', '[IPv6:64:ff9b::192.0.2.1]']) {
    test(`accepts ${value}`, () => assert.equal(isAddressLiteral(value), true));
  }
  for (const value of ['192.0.2.1', '[192.0.2.256]', '[192.0.2]', '[1.2.3.4.5]', '[2001:db8::1]', '[IPv6:1:2:3:4:5:6:7:8:9]', '[IPv6:1::2::3]', '[IPv6:12345::]', '[IPv6:1:2:3:4:5:6:7]', '[IPv6:1:2:3:4:5:6:7::8]', '[x-tag:abc]', '[192.0.2.1]\r\n', '[]']) {
    test(`refuses ${JSON.stringify(value)}`, () => assert.equal(isAddressLiteral(value), false));
  }
});

describe('isMailbox and isReversePath', () => {
  for (const value of [
    'ceo@contoso.com',
    'first.last+tag@sub.contoso.co.uk',
    "o'brien@contoso.com",
    'a!#$%&*+-/=?^_`{|}~@contoso.com',
    '"john smith"@contoso.com',
    '"a@b"@contoso.com',
    '"quote\\"inside"@contoso.com',
    '""@contoso.com',
    'user@[192.0.2.1]',
    'user@[IPv6:2001:db8::1]',
    'jörg@bücher.example',
    `${'l'.repeat(64)}@contoso.com`,
  ]) {
    test(`accepts ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`, () => {
      assert.equal(isMailbox(value), true);
      assert.equal(isReversePath(value), true);
    });
  }
  for (const value of [
    'a@b.example\r\n',
    'a@b.example\r\nDATA',
    'a@b.example>\r\nDATA\r\n.\r\nRSET',
    'a\u0000@b.example',
    'a@b.example\u0000',
    'a b@contoso.com',
    '<a@contoso.com>',
    'a<b@contoso.com',
    'a>@contoso.com',
    'a@',
    '@contoso.com',
    'contoso.com',
    'a..b@contoso.com',
    '.a@contoso.com',
    'a.@contoso.com',
    'a@contoso..com',
    'a@contoso.com.',
    '"unterminated@contoso.com',
    '"tab\there"@contoso.com',
    '"cr\r"@contoso.com',
    '"bad\\\u0000"@contoso.com',
    'a\u202e@contoso.com',
    'a\u2028@contoso.com',
    'a\u00a0@contoso.com',
    `${'l'.repeat(65)}@contoso.com`,
    `a@${domain254}`,
    `${'l'.repeat(64)}@${domain253}`, // 318 octets: over the 254 of a path
    'a@[192.0.2.1',
    'CEO <ceo@contoso.com>',
  ]) {
    test(`refuses ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`, () => {
      assert.equal(isMailbox(value), false);
      assert.equal(isReversePath(value), false);
    });
  }
  test('the null path is a reverse-path, not a mailbox', () => {
    assert.equal(isReversePath(''), true);
    assert.equal(isMailbox(''), false);
  });
  test('isLocalPart: 64 octets at most, UTF-8 counted in octets', () => {
    assert.equal(isLocalPart('l'.repeat(64)), true);
    assert.equal(isLocalPart('é'.repeat(32)), true);
    assert.equal(isLocalPart('é'.repeat(33)), false);
  });
});

describe('isEhloName', () => {
  test('a domain or an address literal', () => {
    assert.equal(isEhloName('eoplock-probe.invalid'), true);
    assert.equal(isEhloName('[192.0.2.1]'), true);
    assert.equal(isEhloName('x.invalid\r\nMAIL FROM:<a@b.example>'), false);
    assert.equal(isEhloName('two words'), false);
    assert.equal(isEhloName(''), false);
  });
});

describe('isDomainPattern (Exchange configuration)', () => {
  for (const [value, any, expected] of [
    ['contoso.com', false, true],
    ['contoso.com.', false, true],
    ['*.contoso.com', false, true],
    ['*', false, false],
    ['*', true, true],
    ['smtp:*;1', true, true],
    ['SMTP:contoso.com;1', false, true],
    ['smtp:*.contoso.com;10', false, true],
    ['smtp:contoso.com', false, true],
    ['*.*.contoso.com', true, false],
    ['contoso.*', true, false],
    ['smtp:contoso.com;1\r\nDATA', true, false],
    ['contoso.com\r\n', true, false],
    ['', true, false],
    ['*.', true, false],
  ] as const) {
    test(`${JSON.stringify(value)}${any ? ' (bare * allowed)' : ''} → ${expected}`, () => assert.equal(isDomainPattern(value, { any }), expected));
  }
});

describe('assertSmtpLine', () => {
  test('passes a line without CR, LF or NUL', () => {
    assert.doesNotThrow(() => assertSmtpLine('MAIL FROM:<a@b.example>'));
    assert.doesNotThrow(() => assertSmtpLine('MAIL FROM:<"tab\there"@b.example>'));
  });
  for (const line of ['MAIL FROM:<a@b.example>\r\nDATA', 'RCPT TO:<a@b.example>\n', 'EHLO x\r', 'MAIL FROM:<a\u0000@b.example>']) {
    test(`throws an InputError for ${JSON.stringify(line)}, the value made visible`, () => {
      assert.throws(
        () => assertSmtpLine(line, 'from'),
        (error: unknown) => error instanceof InputError && error.where === 'from' && !/[\r\n\0]/.test(error.message) && /\\[rn0]/.test(error.message),
      );
    });
  }
});

describe('linear time', () => {
  test('long hostile inputs are judged in well under a second', { timeout: 10_000 }, () => {
    const started = performance.now();
    const big = 200_000;
    for (const value of [
      'a'.repeat(big),
      `${'a.'.repeat(big)}@x`,
      `"${'\\"'.repeat(big)}"@x`,
      `${'a-'.repeat(big)}.example`,
      `[IPv6:${'1:'.repeat(big)}]`,
      `smtp:${'*.'.repeat(big)};1`,
      `${'é'.repeat(big)}@${'é'.repeat(big)}`,
    ]) {
      isMailbox(value);
      isDomainName(value);
      isAddressLiteral(value);
      isDomainPattern(value, { any: true });
      isLocalPart(value);
    }
    assert.ok(performance.now() - started < 1_000, `took ${Math.round(performance.now() - started)} ms`);
  });
});
