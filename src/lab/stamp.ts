/**
 * The headers EOP adds to a message it accepts (S24, S33, S65), as the lab writes them. Pure: time and ids are
 * passed in.
 */
import type { Transaction, Verdict } from '../eop/types.js';
import { splitHeaderLines } from '../headers/lines.js';

/**
 * A field of the organisation's own (`X-MS-Exchange-Organization-…:`), space before the colon allowed, and control
 * characters before or in the name ignored (`\0X-MS-Exchange-Organization-AuthAs:` is one to a reader that drops them).
 */
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f]/g;
const isOrganizationField = (line: string) => /^x-ms-exchange-organization-[^:]*:/i.test(line.replace(CONTROLS, ''));

export interface StampInput {
  transaction: Transaction;
  verdict: Verdict;
  /** The name the lab answers as. */
  serverName: string;
  id: string;
  date: Date;
  tls: boolean;
}

/**
 * Removes organisation headers a sender supplied when the message is not authenticated as internal (S33), and writes
 * the header block with CRLF line ends. Lines end as eoplock's header reader ends them (CRLF, bare CR or bare LF), so
 * `Subject: hi\rX-MS-Exchange-Organization-AuthAs: Internal` is two lines here too: the second one is removed, and
 * no bare CR is left in the block for another reader to split differently.
 */
export function headerFirewall(headerBlock: string, authAs: Verdict['authAs']): string {
  const lines = splitHeaderLines(headerBlock);
  if (authAs === 'Internal') return lines.join('\r\n');
  const kept: string[] = [];
  let dropping = false;
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      if (!dropping) kept.push(line);
      continue;
    }
    dropping = isOrganizationField(line);
    if (!dropping) kept.push(line);
  }
  return kept.join('\r\n');
}

/** Header lines to prepend, CRLF-terminated. */
export function stampHeaders({ transaction, verdict, serverName, id, date, tls }: StampInput): string {
  const helo = transaction.helo ?? 'unknown';
  const direction = verdict.authAs === 'Internal' ? 'INT' : 'INB';
  const scl = verdict.scl ?? 1;
  const lines = [
    `Received: from ${helo} (${transaction.clientIp}) by ${serverName} (eoplock EOP lab) with ${tls ? 'ESMTPS' : 'ESMTP'} id ${id}; ${date.toUTCString().replace('GMT', '+0000')}`,
    ...(verdict.addedHeaders ?? []).map((field) => `${field.name}: ${field.value}`),
    `X-MS-Exchange-Organization-AuthAs: ${verdict.authAs}`,
    `X-MS-Exchange-Organization-MessageDirectionality: ${verdict.authAs === 'Internal' ? 'Originating' : 'Incoming'}`,
    `X-MS-Exchange-Organization-SCL: ${scl}`,
    `X-Forefront-Antispam-Report: CIP:${transaction.clientIp};CTRY:;LANG:;SCL:${scl};SRV:;IPV:NLI;SFV:${scl === -1 ? 'SKN' : 'NSPM'};H:${helo};PTR:;CAT:NONE;SFS:;DIR:${direction};`,
    `X-Eoplock-Lab-Connector: ${verdict.connector ? `${verdict.connector.name} (${verdict.connector.type}, by ${verdict.connector.matchedBy})` : 'none'}`,
    `X-Eoplock-Lab-Verdict: ${verdict.action} ${verdict.code} ${verdict.enhanced}; disposition=${verdict.disposition}`,
  ];
  return `${lines.map((line) => line.replace(/[\r\n]+/g, ' ')).join('\r\n')}\r\n`;
}
