/**
 * The scenario file: transactions to run through the emulator, each with an optional expectation.
 */
import { z } from 'zod';
import { hasControl, visible } from '../util/display.js';
import { isMailbox } from '../util/smtp-syntax.js';

/** A value for an error message: control characters made visible, cut to a readable length. */
const shown = (value: unknown) => {
  const text = visible(String(value));
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
};
const hasControlOrTab = (value: string) => hasControl(value) || value.includes('\t');

/**
 * The envelope sender as a scenario gives it. Spoof tests may use odd senders (no strict RFC 5321 syntax is asked),
 * but never a control character: it would forge lines in reports and in the probe's SMTP commands.
 */
const mailFrom = z.string().refine((value) => !hasControlOrTab(value), { error: (issue) => `"${shown(issue.input)}" holds a control character` });
/** A recipient: an RFC 5321 mailbox (see util/smtp-syntax.ts). */
const recipient = z.string().refine(isMailbox, { error: (issue) => `"${shown(issue.input)}" is not an email address (local@domain)` });
/** The HELO/EHLO name: one word, as the client sent it (real clients send odd names), with no control character. */
const helo = z.string().refine((value) => value !== '' && !hasControlOrTab(value) && !/\s/.test(value), {
  error: (issue) => `"${shown(issue.input)}" is not a HELO name: one word without spaces or control characters`,
});

const certificate = z.strictObject({
  subject: z.string().min(1),
  san: z.array(z.string()).optional(),
});

export const ExpectationSchema = z.strictObject({
  action: z.enum(['accept', 'reject']).optional(),
  code: z.number().int().min(200).max(599).optional(),
  enhanced: z.string().regex(/^[245]\.\d{1,3}\.\d{1,3}$/, 'an enhanced status code such as 5.7.68').optional(),
  stage: z.enum(['connect', 'mail', 'rcpt', 'data']).optional(),
  disposition: z.enum(['deliver', 'relay', 'junk', 'quarantine', 'delete', 'ndr', 'none']).optional(),
  /** The connector's name, or null for "no connector". */
  connector: z.string().nullable().optional(),
});

export const ScenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  clientIp: z.string().min(1),
  helo: helo.optional(),
  tls: z
    .union([z.boolean(), z.null(), z.strictObject({ certificate: certificate.optional() })])
    .optional()
    .transform((value) => (value === true ? {} : value === false || value === null ? undefined : value)),
  mailFrom,
  rcptTo: z
    .union([z.string(), z.array(z.string()).min(1)])
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .pipe(z.array(recipient)),
  headers: z.union([z.string(), z.record(z.string(), z.union([z.string(), z.array(z.string())]))]).optional(),
  /** SPF/DKIM results for the authentication layer (DMARC, Honor DMARC); see docs/emulator.md. */
  authentication: z
    .strictObject({
      evaluatedIp: z.string().min(1).optional(),
      spf: z.enum(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror']),
      dkim: z.array(z.strictObject({ result: z.enum(['pass', 'fail', 'none']), domain: z.string().min(1) })).optional(),
      dmarcRecord: z.string().nullable().optional(),
    })
    .optional(),
  expect: ExpectationSchema.optional(),
});

export const ScenarioFileSchema = z.strictObject({
  scenarios: z.array(ScenarioSchema).min(1, { error: 'the file holds no scenarios' }),
});

export type Expectation = z.output<typeof ExpectationSchema>;
export type ScenarioInput = z.output<typeof ScenarioSchema>;
