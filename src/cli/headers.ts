/**
 * `eoplock headers <file.eml | ->`: wiring only.
 */
import { analyseHeaders, type HeaderAnalysis } from '../headers/analyse.js';
import { readMessageHeaders } from '../headers/parse.js';
import { inferProfile, type GatewayProfile } from '../profile/profile.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { readTextFile } from '../util/files.js';
import { emit, type Io } from './io.js';
import { loadProfile, type ProfileOptions } from './profile-options.js';

export interface HeadersCommandOptions extends ProfileOptions {
  snapshot?: string;
  format: 'text' | 'json';
  out?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function headersCommand(io: Io, file: string, options: HeadersCommandOptions, stdin: () => Promise<string> = readStdin): Promise<number> {
  const source = file === '-' ? 'stdin' : file;
  const text = file === '-' ? await stdin() : await readTextFile(file);
  const { fields, warnings } = await readMessageHeaders(text, source);
  const snapshot = options.snapshot ? (await loadSnapshotFile(options.snapshot)).snapshot : undefined;
  const profile: GatewayProfile | undefined = (await loadProfile(options)) ?? (snapshot ? inferProfile(snapshot) : undefined);
  const analysis = analyseHeaders(fields, { ...(profile ? { profile } : {}), ...(snapshot ? { snapshot } : {}) });
  const output = options.format === 'json' ? `${JSON.stringify({ source, warnings, ...analysis }, null, 2)}\n` : renderHeaders(analysis, source, warnings, profile);
  await emit(io, output, options.out);
  return analysis.checklist.some((item) => item.status === 'fail') ? 1 : 0;
}

const MARK = { pass: '✓', fail: '✗', warn: '!', unknown: '?', info: '·' } as const;

export function renderHeaders(analysis: HeaderAnalysis, source: string, warnings: readonly string[], profile?: GatewayProfile): string {
  const lines = [`eoplock headers — ${source}`];
  for (const warning of warnings) lines.push(`  note: ${warning}`);
  lines.push('', `  From     ${analysis.from ?? '(none)'}${analysis.fromAcceptedDomain ? '  (an accepted domain of this tenant)' : ''}`);
  if (analysis.subject) lines.push(`  Subject  ${analysis.subject}`);
  const pathText = {
    'through-gateway': 'through the gateway',
    'direct-to-eop': 'STRAIGHT TO EOP — the gateway was bypassed',
    'not-through-eop': 'not through Exchange Online (no EOP hop)',
    undetermined: 'into EOP; whether through the gateway is unknown (give --seg-ip or --snapshot)',
  }[analysis.path];
  lines.push(`  Path     ${pathText}${profile?.name ? `  [gateway: ${profile.name}]` : ''}`);

  lines.push('', 'Received chain (oldest first)');
  for (const hop of analysis.hops) {
    const delay = hop.delaySeconds === null ? '' : `  +${hop.delaySeconds}s`;
    const role = hop === analysis.eopEntry ? '  ← into EOP' : hop.fromGateway ? '  ← from the gateway' : '';
    lines.push(`  ${String(hop.step).padStart(2)}. ${hop.fromHost ?? '?'}${hop.fromIp && hop.fromIp !== hop.fromHost ? ` [${hop.fromIp}]` : ''} → ${hop.byHost ?? '?'}${delay}${role}`);
  }
  if (analysis.hops.length === 0) lines.push('  (no Received headers)');
  lines.push(`  EOP saw  ${analysis.connectingIp ?? '(unknown)'}${analysis.connectorsByIp.length > 0 ? `  (matches connector ${analysis.connectorsByIp.map((name) => `"${name}"`).join(', ')} by IP)` : ''}`);

  lines.push('', 'Exchange Online stamps');
  lines.push(`  AuthAs / AuthSource           ${analysis.authAs ?? '(none)'} / ${analysis.authSource ?? '(none)'}`);
  lines.push(`  SkipListedInternetSender      ${analysis.skipListedInternetSender ?? '(not set)'}`);
  for (const results of analysis.authenticationResults) {
    const parts = [
      results.spf ? `spf=${results.spf.result}${results.spf.senderIp ? ` (${results.spf.senderIp})` : ''}` : null,
      ...results.dkim.map((dkim) => `dkim=${dkim.result}${dkim.domain ? ` d=${dkim.domain}` : ''}`),
      results.dmarc ? `dmarc=${results.dmarc.result}${results.dmarc.action ? ` action=${results.dmarc.action}` : ''}` : null,
      results.compauth ? `compauth=${results.compauth.result}${results.compauth.reason ? ` reason=${results.compauth.reason}` : ''}` : null,
    ].filter(Boolean);
    lines.push(`  ${results.header}${results.authservId ? ` (${results.authservId})` : ' (EXO form, no authserv-id)'}`);
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
  return `${lines.join('\n')}\n`;
}
