/**
 * The scenario file: transactions to run through the emulator, each with an optional expectation.
 */
import * as z from 'zod';
import { parseIp } from '../eop/ip.js';
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

/** A DKIM signing domain (d=): one word, no control character. */
const domainName = z.string().refine((value) => value !== '' && !hasControlOrTab(value) && !/\s/.test(value), {
  error: (issue) => `"${shown(issue.input)}" is not a domain name`,
});

/**
 * One attachment of the message (S18 counts embedded images too): its file name, size in bytes, and the files inside
 * it when it is an archive. A scenario without `attachments` is a message without any.
 */
const attachment = z.strictObject({
  name: z
    .string()
    .refine((value) => value !== '' && !hasControl(value), { error: (issue) => `"${shown(issue.input)}" is not a file name` })
    .optional(),
  size: z.number().int().min(0).optional(),
  get files() {
    return z.array(attachment).optional();
  },
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
  /** The message's attachments, for transport-rule attachment conditions; absent: none. */
  attachments: z.array(attachment).optional(),
  /**
   * The authentication layer's input (docs/emulator.md step 8; README "simulate --scenarios"): SPF for the evaluated
   * IP, DKIM results, and optionally the From domain's DMARC record. Absent: DMARC, Honor DMARC and spoof are not
   * emulated.
   */
  authentication: z
    .strictObject({
      /** Overrides the IP whose SPF result this is; by default the connecting IP, or with Enhanced Filtering the Received chain's source. */
      evaluatedIp: z
        .string()
        .refine((value) => parseIp(value) !== null, { error: (issue) => `"${shown(issue.input)}" is not an IPv4 or IPv6 address` })
        .optional(),
      spf: z.enum(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror']),
      dkim: z.array(z.strictObject({ result: z.enum(['pass', 'fail', 'none']), domain: domainName })).optional(),
      /** The From domain's DMARC record; `null`: it has none; absent: the snapshot's Dns section. */
      dmarcRecord: z
        .string()
        .refine((value) => !hasControl(value), { error: (issue) => `"${shown(issue.input)}" holds a control character` })
        .nullable()
        .optional(),
    })
    .optional(),
  expect: ExpectationSchema.optional(),
});

export const ScenarioFileSchema = z.strictObject({
  scenarios: z.array(ScenarioSchema).min(1, { error: 'the file holds no scenarios' }),
});

export type Expectation = z.output<typeof ExpectationSchema>;
export type ScenarioInput = z.output<typeof ScenarioSchema>;
