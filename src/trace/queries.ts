/**
 * The same detections in Microsoft's own engines: KQL for Defender Advanced Hunting / Sentinel, and PowerShell for
 * historical search and a Get-MessageTraceV2 loop within its limits (eop-behaviour.md §8). Values reach each
 * language only through its quoting function. Pure.
 */
import { compileIpList, formatIpv4Interval, ipv4Interval, mergeIntervals } from '../eop/ip.js';
import { psString, psValue } from '../plan/powershell.js';

export interface QueryInput {
  gatewayIps: readonly string[];
  acceptedDomains: readonly string[];
  days: number;
}

export interface Query {
  id: string;
  title: string;
  kind: 'kql' | 'powershell';
  text: string;
}

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
        '        foreach ($row in $page) {',
        "            $recipientDomain = ($row.RecipientAddress -split '@')[-1]",
        '            if ($domains -contains $recipientDomain -and -not (Test-EoplockGateway $row.FromIP)) { $rows.Add($row) }',
        '        }',
        '        if ($page.Count -eq 5000) {',
        '            # No paging in V2: continue from the last row (StartingRecipientAddress + EndDate).',
        '            $last = $page[-1]',
        '            $cursorEnd = $last.Received',
        '            $startingRecipient = $last.RecipientAddress',
        '        }',
        '    } while ($page.Count -eq 5000)',
        '}',
        `$rows | Export-Csv -NoTypeInformation -Encoding utf8 -Path ${psString('not-from-gateway.csv')}`,
        "Write-Host \"$($rows.Count) message(s) to your domains not from the gateway: not-from-gateway.csv (eoplock impact/monitor read it)\"",
      ].join('\n'),
    },
  ];
  return queries;
}
