/**
 * The same detections in Microsoft's own engines: KQL for Defender Advanced Hunting / Sentinel, and PowerShell for
 * historical search and a Get-MessageTraceV2 loop within its limits (eop-behaviour.md §8). Values reach each
 * language only through its quoting function. Pure.
 */
import { compileIpList, formatIpv4Interval, ipv4Interval, mergeIntervals } from '../eop/ip.js';
import { psString, psValue } from '../plan/powershell.js';
import { SUMMARY_COLUMNS } from './summary.js';

export interface QueryInput {
  gatewayIps: readonly string[];
  acceptedDomains: readonly string[];
  days: number;
}

/** What a query is for: finding mail around the gateway, or the impact summary that `eoplock impact` reads. */
export type QueryPurpose = 'bypass' | 'impact';
export const QUERY_PURPOSES: readonly QueryPurpose[] = ['bypass', 'impact'];

export interface Query {
  id: string;
  title: string;
  kind: 'kql' | 'powershell';
  purpose: QueryPurpose;
  text: string;
}

/**
 * The EmailEvents columns the queries use, with their documented types (Microsoft Learn, "EmailEvents table in the
 * advanced hunting schema", learn.microsoft.com/defender-xdr/advanced-hunting-emailevents-table): Timestamp
 * (datetime), SenderMailFromAddress, SenderFromAddress, SenderMailFromDomain, SenderFromDomain, SenderIPv4,
 * SenderIPv6, RecipientEmailAddress, Subject, EmailDirection, DeliveryAction, Connectors, AuthenticationDetails
 * (string). The tests bind every KQL query against that table with Microsoft's Kusto parser.
 */
export const EMAIL_EVENTS_COLUMNS_USED = [
  'Timestamp',
  'SenderMailFromAddress',
  'SenderFromAddress',
  'SenderMailFromDomain',
  'SenderFromDomain',
  'SenderIPv4',
  'SenderIPv6',
  'RecipientEmailAddress',
  'Subject',
  'EmailDirection',
  'DeliveryAction',
  'Connectors',
  'AuthenticationDetails',
] as const;

/** A KQL string literal: double-quoted, with backslash, quote and control characters escaped. */
export function kqlString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** IPv4 entries as CIDR blocks (KQL's ipv4_is_in_any_range takes addresses and CIDR, not a-b ranges). */
export function cidrBlocks(ips: readonly string[]): string[] {
  const intervals = mergeIntervals(compileIpList(ips).entries.map(ipv4Interval).filter((i): i is [number, number] => i !== null));
  const blocks: string[] = [];
  for (const [low, high] of intervals) {
    let start = low;
    while (start <= high) {
      let size = 1;
      while (start % (size * 2) === 0 && start + size * 2 - 1 <= high && size < 2 ** 31) size *= 2;
      blocks.push(formatIpv4Interval([start, start + size - 1]).replace(/^([\d.]+)$/, '$1/32'));
      start += size;
    }
  }
  return blocks;
}

export function buildQueries(input: QueryInput): Query[] {
  const ranges = cidrBlocks(input.gatewayIps);
  const ipv6 = compileIpList(input.gatewayIps).entries.filter((entry) => entry.family === 'ipv6').map((entry) => entry.text);
  const rangeList = `dynamic([${ranges.map(kqlString).join(', ')}])`;
  const domains = `dynamic([${input.acceptedDomains.map(kqlString).join(', ')}])`;
  const days = Math.max(1, Math.min(90, Math.round(input.days)));
  const queries: Query[] = [
    {
      id: 'kql-no-connector',
      title: 'Inbound mail that arrived with no connector (Microsoft\'s own signature, S3)',
      kind: 'kql',
      purpose: 'bypass',
      text: [
        'EmailEvents',
        `| where Timestamp > ago(${days}d)`,
        "| where EmailDirection == 'Inbound' and Connectors == '' and isnotempty(SenderIPv4)",
        '| summarize Messages = count(), FirstSeen = min(Timestamp), LastSeen = max(Timestamp) by SenderIPv4, SenderMailFromDomain',
        '| order by Messages desc',
      ].join('\n'),
    },
    {
      id: 'kql-not-from-gateway',
      title: 'Inbound mail whose last hop is not the gateway',
      kind: 'kql',
      purpose: 'bypass',
      text: [
        'EmailEvents',
        `| where Timestamp > ago(${days}d)`,
        "| where EmailDirection == 'Inbound'",
        `| where isempty(SenderIPv4) or not(ipv4_is_in_any_range(SenderIPv4, ${rangeList}))`,
        ...(ipv6.length > 0 ? [`| where isempty(SenderIPv6) or SenderIPv6 !in (${ipv6.map(kqlString).join(', ')})`] : []),
        '| summarize Messages = count() by bin(Timestamp, 1d), SenderIPv4, SenderIPv6, SenderMailFromDomain, Connectors',
        '| order by Timestamp asc, Messages desc',
      ].join('\n'),
    },
    {
      id: 'kql-spoofed-internal',
      title: 'Your own domains as sender on mail that did not come through the gateway',
      kind: 'kql',
      purpose: 'bypass',
      text: [
        `let accepted = ${domains};`,
        'EmailEvents',
        `| where Timestamp > ago(${days}d)`,
        "| where EmailDirection == 'Inbound'",
        '| where SenderFromDomain in~ (accepted) or SenderMailFromDomain in~ (accepted)',
        `| where isempty(SenderIPv4) or not(ipv4_is_in_any_range(SenderIPv4, ${rangeList}))`,
        '| project Timestamp, SenderIPv4, SenderIPv6, SenderMailFromAddress, SenderFromAddress, RecipientEmailAddress, Subject, DeliveryAction, Connectors, AuthenticationDetails',
        '| order by Timestamp desc',
      ].join('\n'),
    },
    {
      id: 'ps-historical-no-connector',
      title: 'Historical search: received mail with no connector (Start-HistoricalSearch, up to 90 days, CSV by mail)',
      kind: 'powershell',
      purpose: 'bypass',
      text: [
        '# Read-only. The report arrives as a CSV (up to 100,000 rows) at -NotifyAddress when the search completes.',
        '$end = (Get-Date).ToUniversalTime()',
        `$start = $end.AddDays(-${days})`,
        "Start-HistoricalSearch -ReportTitle 'eoplock: received without connector' -ReportType ConnectorReport `",
        '    -ConnectorType NoConnector -Direction Received -StartDate $start -EndDate $end `',
        "    -NotifyAddress (Read-Host 'Send the report to')",
        '# Then: Get-HistoricalSearch | Select-Object JobId, ReportTitle, Status, Rows',
      ].join('\n'),
    },
    {
      id: 'ps-message-trace-v2',
      title: 'Get-MessageTraceV2 loop within its limits (10-day windows, 5,000 rows, 100 requests per 5 minutes)',
      kind: 'powershell',
      purpose: 'bypass',
      text: [
        '# Read-only. Collects inbound message trace for the last days, then keeps mail whose FromIP is not the gateway.',
        'Set-StrictMode -Version Latest',
        "$ErrorActionPreference = 'Stop'",
        `$gateway = ${psValue(input.gatewayIps)}`,
        `$domains = ${psValue(input.acceptedDomains)}`,
        `$days = ${days}`,
        '$rows = [System.Collections.Generic.List[object]]::new()',
        '$requests = [System.Collections.Generic.Queue[datetime]]::new()',
        'function Wait-EoplockThrottle {',
        '    # At most 100 requests in any 5 minutes.',
        '    while ($requests.Count -ge 100 -and ((Get-Date) - $requests.Peek()).TotalMinutes -lt 5) { Start-Sleep -Seconds 5 }',
        '    while ($requests.Count -ge 100) { [void]$requests.Dequeue() }',
        '    $requests.Enqueue((Get-Date))',
        '}',
        'function Test-EoplockGateway([string]$ip) {',
        '    if ([string]::IsNullOrEmpty($ip)) { return $false }',
        '    $address = [System.Net.IPAddress]::Parse($ip)',
        '    foreach ($entry in $gateway) {',
        "        if ($entry -notmatch '/') { if ($entry -eq $ip) { return $true }; continue }",
        "        $base, $bits = $entry -split '/'",
        '        $a = $address.GetAddressBytes(); $b = [System.Net.IPAddress]::Parse($base).GetAddressBytes()',
        '        if ($a.Length -ne $b.Length) { continue }',
        '        $match = $true',
        '        for ($i = 0; $i -lt $a.Length; $i++) {',
        '            $mask = [Math]::Max(0, [Math]::Min(8, [int]$bits - 8 * $i))',
        '            $m = (0xFF -shl (8 - $mask)) -band 0xFF',
        '            if (($a[$i] -band $m) -ne ($b[$i] -band $m)) { $match = $false; break }',
        '        }',
        '        if ($match) { return $true }',
        '    }',
        '    return $false',
        '}',
        ...pagedMessageTrace([
          'foreach ($row in $page) {',
          "    $recipientDomain = ($row.RecipientAddress -split '@')[-1]",
          '    if ($domains -contains $recipientDomain -and -not (Test-EoplockGateway $row.FromIP)) { $rows.Add($row) }',
          '}',
        ]),
        `$rows | Export-Csv -NoTypeInformation -Encoding utf8 -Path ${psString('not-from-gateway.csv')}`,
        "Write-Host \"$($rows.Count) message(s) to your domains not from the gateway: not-from-gateway.csv (eoplock impact/monitor read it)\"",
      ].join('\n'),
    },
    impactSummaryKql(days),
    impactSummaryPowerShell(days),
  ];
  return queries;
}

/**
 * The impact summary in Defender Advanced Hunting / Sentinel: inbound EmailEvents counted per decision key (what the
 * emulator's verdict depends on: source address, envelope and header sender domains, recipient domain, connector), a
 * sample of each address and the subject, first and last seen. Thousands of rows however large the tenant; `eoplock
 * impact` reads the export (CSV or JSON) with each row weighted by its count. Grouping is case-sensitive, as the raw
 * rows are decided.
 */
function impactSummaryKql(days: number): Query {
  return {
    id: 'kql-impact-summary',
    title: 'Impact summary: inbound mail per decision key, for "eoplock impact" (export the result as CSV or JSON)',
    kind: 'kql',
    purpose: 'impact',
    text: [
      'EmailEvents',
      `| where Timestamp > ago(${days}d)`,
      "| where EmailDirection == 'Inbound'",
      '// EmailEvents columns as Microsoft documents them: learn.microsoft.com/defender-xdr/advanced-hunting-emailevents-table',
      "| extend RecipientDomain = extract(@'@([^@]*)$', 1, RecipientEmailAddress)",
      '| summarize Messages = count(), FirstSeen = min(Timestamp), LastSeen = max(Timestamp), SampleSubject = take_any(Subject),',
      '    SampleMailFrom = take_any(SenderMailFromAddress), SampleFrom = take_any(SenderFromAddress), SampleRecipient = take_any(RecipientEmailAddress)',
      '    by SenderIPv4, SenderIPv6, SenderMailFromDomain, SenderFromDomain, RecipientDomain, Connectors, EmailDirection',
      `| project ${SUMMARY_COLUMNS.join(', ')}`,
      '| order by Messages desc',
    ].join('\n'),
  };
}

/** The PowerShell summary's columns: message trace names no connector and no direction. */
const POWERSHELL_SUMMARY_COLUMNS = SUMMARY_COLUMNS.filter((column) => column !== 'Connectors' && column !== 'EmailDirection');

/**
 * The impact summary from Get-MessageTraceV2, aggregated as the pages arrive (memory: one entry per decision key).
 * Paging as Microsoft documents it (learn.microsoft.com/powershell/module/exchange/get-messagetracev2): 10 days of
 * data per query, at most 5,000 results (-ResultSize), no paging parameter — the next query continues with
 * -StartingRecipientAddress and -EndDate set to the last row's RecipientAddress and Received — and at most 100
 * queries in any 5 minutes. Its output times are UTC.
 */
function impactSummaryPowerShell(days: number): Query {
  const output = psString('impact-summary.csv');
  return {
    id: 'ps-impact-summary',
    title: 'Impact summary from Get-MessageTraceV2 (paged, counted per decision key as it streams), for "eoplock impact"',
    kind: 'powershell',
    purpose: 'impact',
    text: [
      '# Read-only. Writes impact-summary.csv: one row per source IP, sender domain and recipient domain, with counts.',
      '# Get-MessageTraceV2 (learn.microsoft.com/powershell/module/exchange/get-messagetracev2): 10 days of data per query,',
      '# at most 5,000 results, no paging: the next query continues with -StartingRecipientAddress and -EndDate from the',
      "# last row's RecipientAddress and Received; at most 100 queries in any 5 minutes.",
      'Set-StrictMode -Version Latest',
      "$ErrorActionPreference = 'Stop'",
      `$days = ${days}`,
      '# The columns "eoplock impact" reads (message trace names no connector and no direction).',
      `$columns = ${psValue(POWERSHELL_SUMMARY_COLUMNS)}`,
      '# Ordinal (case-sensitive) keys, as the raw rows are told apart.',
      '$summary = [System.Collections.Generic.Dictionary[string, object]]::new([System.StringComparer]::Ordinal)',
      '$requests = [System.Collections.Generic.Queue[datetime]]::new()',
      'function Wait-EoplockThrottle {',
      '    # At most 100 requests in any 5 minutes.',
      '    while ($requests.Count -ge 100 -and ((Get-Date) - $requests.Peek()).TotalMinutes -lt 5) { Start-Sleep -Seconds 5 }',
      '    while ($requests.Count -ge 100) { [void]$requests.Dequeue() }',
      '    $requests.Enqueue((Get-Date))',
      '}',
      'function Get-EoplockDomain([string]$address) {',
      "    $at = $address.LastIndexOf('@')",
      "    if ($at -lt 0) { return '' }",
      '    return $address.Substring($at + 1)',
      '}',
      'function Add-EoplockRow($row) {',
      '    $ip = [string]$row.FromIP',
      '    $sender = [string]$row.SenderAddress',
      '    $recipient = [string]$row.RecipientAddress',
      '    $senderDomain = Get-EoplockDomain $sender',
      '    $recipientDomain = Get-EoplockDomain $recipient',
      '    # Output times are UTC (the cmdlet\'s documentation), whatever the DateTime says of its kind.',
      "    $received = [datetime]::SpecifyKind([datetime]$row.Received, 'Utc').ToString('o')",
      '    $key = ($ip, $senderDomain, $recipientDomain) -join "`n"',
      '    $entry = $null',
      '    if (-not $summary.TryGetValue($key, [ref]$entry)) {',
      "        $v6 = $ip.Contains(':')",
      '        $entry = [pscustomobject][ordered]@{',
      "            SenderIPv4 = $(if ($v6) { '' } else { $ip })",
      "            SenderIPv6 = $(if ($v6) { $ip } else { '' })",
      '            SenderMailFromDomain = $senderDomain',
      "            SenderFromDomain = ''",
      '            RecipientDomain = $recipientDomain',
      '            Messages = [long]0',
      '            FirstSeen = $received',
      '            LastSeen = $received',
      '            SampleSubject = [string]$row.Subject',
      '            SampleMailFrom = $sender',
      "            SampleFrom = ''",
      '            SampleRecipient = $recipient',
      '        }',
      '        $summary[$key] = $entry',
      '    }',
      '    $entry.Messages++',
      '    # Round-trip (o) UTC times compare in time order as text.',
      '    if ([string]::CompareOrdinal($received, $entry.FirstSeen) -lt 0) { $entry.FirstSeen = $received }',
      '    if ([string]::CompareOrdinal($received, $entry.LastSeen) -gt 0) { $entry.LastSeen = $received }',
      '}',
      ...pagedMessageTrace(['foreach ($row in $page) { Add-EoplockRow $row }']),
      `$summary.Values | Select-Object -Property $columns | Export-Csv -NoTypeInformation -Encoding utf8 -Path ${output}`,
      `Write-Host "$($summary.Count) row(s) for $(($summary.Values | Measure-Object -Property Messages -Sum).Sum) message(s): impact-summary.csv (eoplock impact reads it)"`,
    ].join('\n'),
  };
}

/**
 * Get-MessageTraceV2 over the last `$days` days, in 10-day windows of 5,000-row pages; V2 has no page numbers, so each
 * page continues from the last row (StartingRecipientAddress and EndDate). `perPage`: the lines run for each `$page`.
 */
function pagedMessageTrace(perPage: readonly string[]): string[] {
  return [
    '$end = (Get-Date).ToUniversalTime()',
    'for ($windowEnd = $end; $windowEnd -gt $end.AddDays(-$days); $windowEnd = $windowEnd.AddDays(-10)) {',
    '    $windowStart = $windowEnd.AddDays(-10)',
    '    if ($windowStart -lt $end.AddDays(-$days)) { $windowStart = $end.AddDays(-$days) }',
    '    $cursorEnd = $windowEnd',
    '    $startingRecipient = $null',
    '    do {',
    '        Wait-EoplockThrottle',
    "        $parameters = @{ StartDate = $windowStart; EndDate = $cursorEnd; ResultSize = 5000 }",
    "        if ($startingRecipient) { $parameters['StartingRecipientAddress'] = $startingRecipient }",
    '        $page = @(Get-MessageTraceV2 @parameters)',
    ...perPage.map((line) => `        ${line}`),
    '        if ($page.Count -eq 5000) {',
    '            # No paging in V2: continue from the last row (StartingRecipientAddress + EndDate).',
    '            $last = $page[-1]',
    '            $cursorEnd = $last.Received',
    '            $startingRecipient = $last.RecipientAddress',
    '        }',
    '    } while ($page.Count -eq 5000)',
    '}',
  ];
}
