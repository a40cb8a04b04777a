/**
 * The scenario file: transactions to run through the emulator, each with an optional expectation.
 */
import { z } from 'zod';

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
  helo: z.string().optional(),
  tls: z
    .union([z.boolean(), z.null(), z.strictObject({ certificate: certificate.optional() })])
    .optional()
    .transform((value) => (value === true ? {} : value === false || value === null ? undefined : value)),
  mailFrom: z.string(),
  rcptTo: z.union([z.string(), z.array(z.string()).min(1)]).transform((value) => (Array.isArray(value) ? value : [value])),
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
