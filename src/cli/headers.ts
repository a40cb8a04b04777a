/**
 * `eoplock headers <file.eml | ->`: wiring only. Reads at most {@link MAX_HEADER_BYTES} (plus one byte, to know there
 * is more) of the file or of standard input: the header is all it needs, and a header block longer than that is
 * refused as bad input, so a large or endless input costs bounded memory and time.
 */
import { open } from 'node:fs/promises';
import { analyseHeaders, type HeaderAnalysis } from '../headers/analyse.js';
import { MAX_HEADER_BYTES, readMessageHeaders } from '../headers/parse.js';
import { InputError } from '../errors.js';
import { citedSourceIds, sourceFooter } from '../eop/sources.js';
import { inferProfile, type GatewayProfile } from '../profile/profile.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { visible } from '../util/display.js';
import { decodeText, readError } from '../util/files.js';
import { emit, type Io } from './io.js';
import { loadProfile, type ProfileOptions } from './profile-options.js';

export interface HeadersCommandOptions extends ProfileOptions {
  snapshot?: string;
  format: 'text' | 'json';
  out?: string;
}

/** How much of the input is read: the header limit and one byte more, which tells a longer input from one that fits. */
const READ_LIMIT = MAX_HEADER_BYTES + 1;

/** Standard input, up to {@link READ_LIMIT} bytes; reading stops there. */
async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(bytes);
    size += bytes.length;
    if (size >= READ_LIMIT) break;
  }
  return Buffer.concat(chunks);
}

/** The first {@link READ_LIMIT} bytes of a file; a missing or unreadable file is an {@link InputError} naming it. */
async function readStart(file: string): Promise<Uint8Array> {
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(READ_LIMIT);
      let filled = 0;
      while (filled < READ_LIMIT) {
        const { bytesRead } = await handle.read(buffer, filled, READ_LIMIT - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw readError(error, file);
  }
}

/**
 * The text of the input's first {@link MAX_HEADER_BYTES} and whether that is all of it. A cut input loses the
 * character the cut falls in (an incomplete UTF-8 sequence, half a UTF-16 unit), never more than the header needs.
 */
function inputText(input: string | Uint8Array, source: string): { text: string; complete: boolean } {
  if (typeof input === 'string') return { text: input, complete: true };
  if (input.length <= MAX_HEADER_BYTES) return { text: decodeText(input, source), complete: true };
  let end = MAX_HEADER_BYTES;
  const utf16 = input.length >= 2 && ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff));
  if (utf16) end -= end % 2;
  else {
    // Back over continuation bytes (10xxxxxx) to the lead byte of the character the cut falls in, and drop it.
    let lead = end;
    while (lead > end - 4 && lead > 0 && ((input[lead] as number) & 0xc0) === 0x80) lead--;
    end = lead;
  }
  return { text: decodeText(input.subarray(0, end), source), complete: false };
}

export async function headersCommand(io: Io, file: string, options: HeadersCommandOptions, stdin: () => Promise<string | Uint8Array> = readStdin): Promise<number> {
  const source = file === '-' ? 'stdin' : file;
  const { text, complete } = inputText(file === '-' ? await stdin() : await readStart(file), source);
  const { fields, warnings } = await readMessageHeaders(text, source, { complete });
  const snapshot = options.snapshot ? (await loadSnapshotFile(options.snapshot)).snapshot : undefined;
  const profile: GatewayProfile | undefined = (await loadProfile(options)) ?? (snapshot ? inferProfile(snapshot) : undefined);
  const analysis = analyseHeaders(fields, { ...(profile ? { profile } : {}), ...(snapshot ? { snapshot } : {}) });
  const output = options.format === 'json' ? `${JSON.stringify({ source, warnings, ...analysis }, null, 2)}\n` : renderHeaders(analysis, source, warnings, profile);
  await emit(io, output, options.out, { human: options.format === 'text' });
  return analysis.checklist.some((item) => item.status === 'fail') ? 1 : 0;
}

const MARK = { pass: '✓', fail: '✗', warn: '!', unknown: '?', info: '·' } as const;

/**
 * The analysis as text. Nearly every line carries values from the message (host names, addresses, results, the
 * checklist's details), so each line is passed through {@link visible} as a whole: a CR, LF, ESC or bidirectional
 * control in a header value is shown escaped and cannot forge a line or drive the terminal.
 */
export function renderHeaders(analysis: HeaderAnalysis, source: string, warnings: readonly string[], profile?: GatewayProfile): string {
  const lines = [`eoplock headers — ${source}`];
  for (const warning of warnings) lines.push(`  note: ${warning}`);
  lines.push('', `  From     ${analysis.from ?? '(none)'}${analysis.fromAcceptedDomain ? '  (an accepted domain of this tenant)' : ''}`);
  if (analysis.subject) lines.push(`  Subject  ${analysis.subject}`);
  const pathText = {
    'through-gateway': 'through the gateway',
    'direct-to-eop': 'STRAIGHT TO EOP — the gateway was bypassed',
    internal: 'inside the organisation (AuthAs: Internal): the inbound gateway is not on this path',
    'not-through-eop': 'not through Exchange Online (no EOP hop)',
    undetermined: 'into EOP; whether through the gateway is undetermined',
  }[analysis.path];
  lines.push(`  Path     ${pathText}${profile?.name ? `  [gateway: ${profile.name}]` : ''}`);
  if (analysis.gatewayEvidence && analysis.path !== 'not-through-eop') lines.push(`  Why      ${analysis.gatewayEvidence}`);
  const verdict = analysis.antispam?.explained.find((entry) => entry.field === 'SFV');
  if (verdict) lines.push(`  Filtering SFV:${verdict.value} — ${verdict.meaning}`);

  lines.push('', 'Received chain (oldest first)');
  for (const hop of analysis.hops) {
    const delay = hop.delaySeconds === null ? '' : `  +${hop.delaySeconds}s`;
    const role =
      hop === analysis.eopEntry
        ? `  ← into EOP${hop.sender === 'microsoft-365-outbound' ? ' from Microsoft 365 (another tenant or Outlook.com)' : ''}`
        : hop.intoEop
          ? '  ← into EOP (an earlier pass)'
          : hop.fromGateway
            ? '  ← from the gateway'
            : hop === analysis.relayedAfterEop
              ? '  ← out of Exchange Online (relayed copy)'
              : '';
    const vendor = hop.vendor && !hop.fromGateway ? `  (${hop.vendor} host name)` : '';
    lines.push(`  ${String(hop.step).padStart(2)}. ${hop.fromHost ?? '?'}${hop.fromIp && hop.fromIp !== hop.fromHost ? ` [${hop.fromIp}]` : ''} → ${hop.byHost ?? '?'}${delay}${role}${vendor}`);
  }
  if (analysis.hops.length === 0) lines.push('  (no Received headers)');
  lines.push(`  EOP saw  ${analysis.connectingIp ?? '(unknown)'}${analysis.connectorsByIp.length > 0 ? `  (matches connector ${analysis.connectorsByIp.map((name) => `"${name}"`).join(', ')} by IP)` : ''}`);

  lines.push('', 'Exchange Online stamps');
  lines.push(`  AuthAs / AuthSource           ${analysis.authAs ?? '(none)'} / ${analysis.authSource ?? '(none)'}`);
  lines.push(`  SkipListedInternetSender      ${analysis.skipListedInternetSender ?? '(not set)'}`);
  const used = analysis.exchangeResults;
  lines.push(`  Results read from             ${used ? `${used.header}${used.authservId ? ` (${used.authservId}${used.instance !== null ? `, i=${used.instance}` : ''})` : ''}` : '(none written by Exchange Online)'}`);
  for (const results of analysis.authenticationResults) {
    const parts = [
      results.spf ? `spf=${results.spf.result}${results.spf.senderIp ? ` (${results.spf.senderIp})` : ''}` : null,
      ...results.dkim.map((dkim) => `dkim=${dkim.result}${dkim.domain ? ` d=${dkim.domain}` : ''}`),
      results.dmarc ? `dmarc=${results.dmarc.result}${results.dmarc.action ? ` action=${results.dmarc.action}` : ''}` : null,
      results.compauth ? `compauth=${results.compauth.result}${results.compauth.reason ? ` reason=${results.compauth.reason}` : ''}` : null,
    ].filter(Boolean);
    const by = results.authservId ? ` (${results.authservId}${results.instance !== null ? `, i=${results.instance}` : ''})` : ' (EXO form, no authserv-id)';
    lines.push(`  ${results.header}${by}${results === used ? '  ← Exchange Online\'s results' : ''}`);
    lines.push(`    ${parts.join('; ') || '(no results)'}`);
    if (results.compauth?.meaning) lines.push(`    compauth reason ${results.compauth.reason}: ${results.compauth.meaning}`);
  }
  if (analysis.antispam) {
    lines.push(`  X-Forefront-Antispam-Report   ${analysis.antispam.explained.map((entry) => `${entry.field}:${entry.value}`).join(' ')}`);
    for (const entry of analysis.antispam.explained.filter((item) => ['CIP', 'DIR', 'SFV', 'SCL', 'IPV', 'CAT'].includes(item.field))) lines.push(`    ${entry.field.padEnd(4)} ${entry.value.padEnd(14)} ${entry.meaning}`);
  }

  lines.push('', "Checklist (the guide's test 4, corrected)");
  for (const item of analysis.checklist) {
    lines.push(`  ${MARK[item.status]} ${item.check}`, `      ${item.detail}`);
    if (item.correction) lines.push(`      correction: ${item.correction}`);
  }
  for (const note of analysis.notes) lines.push(`  note: ${note}`);
  const cited = citedSourceIds(lines.join('\n'));
  if (cited.length > 0) lines.push('', ...sourceFooter(cited));
  return `${lines.map(visible).join('\n')}\n`;
}
