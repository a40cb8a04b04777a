<#
.SYNOPSIS
    Exports a read-only snapshot of an Exchange Online tenant's inbound mail-flow configuration for eoplock.

.DESCRIPTION
    Export-EoplockSnapshot.ps1 reads the settings that decide whether mail can bypass your mail gateway and reach
    Exchange Online Protection directly ("gateway bypass" / Direct Send exposure), and writes them to one JSON
    document in the eoplock snapshot format, version 1 (docs/snapshot-format.md).

    It runs these read-only cmdlets, and nothing else against the tenant:
        Get-OrganizationConfig, Get-AcceptedDomain, Get-InboundConnector, Get-TransportRule,
        Get-AntiPhishPolicy, Get-AntiPhishRule, Get-HostedContentFilterPolicy, Get-HostedContentFilterRule,
        Get-HostedConnectionFilterPolicy, Get-DkimSigningConfig, Get-EOPProtectionPolicyRule,
        Get-ATPProtectionPolicyRule.

    Each cmdlet's output is stored under its noun (for example "InboundConnector") as an array of objects with all
    of their properties. Get-OrganizationConfig, Get-AcceptedDomain, Get-InboundConnector and Get-TransportRule
    must succeed, because eoplock would read a missing connector or rule list as "there are none". The other
    cmdlets may be missing or fail (for example without a Microsoft Defender for Office 365 licence, or with a role
    that does not include them): the script then writes a warning, records it in Meta.warnings, leaves that key out
    and carries on. Get-EOPProtectionPolicyRule and Get-ATPProtectionPolicyRule are the rules of the Standard and
    Strict preset security policies (who they apply to); a tenant without Microsoft Defender for Office 365 has no
    Get-ATPProtectionPolicyRule, which the script notes without a warning.

    Unless -SkipDns is given, it also looks up the public DNS records of each accepted domain (except the
    *.onmicrosoft.com ones) with Resolve-DnsName: MX, TXT at the domain apex, _dmarc TXT, and the DKIM selectors
    selector1 and selector2 (CNAME target, or TXT text). Resolve-DnsName ships with Windows only; elsewhere the DNS
    part is skipped with a warning.

    The script never changes the tenant: it calls no Set-, New-, Remove-, Enable- or Disable- cmdlet, and no
    message trace cmdlet. It never prints or writes credentials or tokens. The file is written as UTF-8 without a
    byte order mark, first to a temporary file in the same folder and then moved into place, so a failure never
    leaves a partial snapshot behind.

    Before running it, connect with Connect-ExchangeOnline (ExchangeOnlineManagement module), or pass -Connect.
    Read-only roles such as Global Reader or View-Only Organization Management are enough.

    Works on Windows PowerShell 5.1 and PowerShell 7.

.PARAMETER Path
    Where to write the snapshot. Default: .\eoplock-snapshot.json (in the current folder). The folder must exist.
    An existing file is not overwritten unless -Force is given.

.PARAMETER Force
    Overwrite the file at -Path if it already exists.

.PARAMETER SkipDns
    Do not look up DNS records; the snapshot then has no "Dns" key.

.PARAMETER DnsServer
    Optional DNS server (name or IP address) for the DNS lookups, for example a public resolver when the local
    network has its own internal view of your domains. Default: the system's resolvers.

.PARAMETER Connect
    Call Connect-ExchangeOnline -ShowBanner:$false before exporting (an interactive sign-in). Without it, the
    script uses the Exchange Online session that is already open and stops if there is none. The session is left
    open afterwards; close it with Disconnect-ExchangeOnline.

.PARAMETER UserPrincipalName
    With -Connect: the account to sign in with (passed to Connect-ExchangeOnline -UserPrincipalName).

.PARAMETER Organization
    With -Connect: the tenant to connect to, for example contoso.onmicrosoft.com (passed to
    Connect-ExchangeOnline -Organization).

.EXAMPLE
    PS> Connect-ExchangeOnline -ShowBanner:$false
    PS> .\Export-EoplockSnapshot.ps1

    Uses the open Exchange Online session and writes .\eoplock-snapshot.json.

.EXAMPLE
    PS> .\Export-EoplockSnapshot.ps1 -Connect -UserPrincipalName reader@contoso.com -Path C:\Temp\contoso.json -Force

    Signs in as reader@contoso.com, exports, and overwrites C:\Temp\contoso.json if it exists.

.EXAMPLE
    PS> .\Export-EoplockSnapshot.ps1 -SkipDns -Path ./contoso-snapshot.json -Verbose

    Exports without DNS lookups (for example on macOS or Linux, where Resolve-DnsName does not exist) and reports
    how many objects each cmdlet returned.

.NOTES
    Snapshot format: docs/snapshot-format.md (eoplockSnapshot = 1).
    Next step:       npx eoplock simulate eoplock-snapshot.json --corpus builtin
    Requires:        the ExchangeOnlineManagement module (Install-Module ExchangeOnlineManagement -Scope CurrentUser)
                     and a connected Exchange Online session, or -Connect.
    Roles:           read-only roles such as Global Reader or View-Only Organization Management suffice.
    Output:          UTF-8 without BOM; ConvertTo-Json -Depth 10, plus -EnumsAsStrings on PowerShell 6 and later.
                     Windows PowerShell 5.1 writes dates as "\/Date(...)\/" and may write enums as numbers;
                     eoplock normalises both.
    Exit:            throws (non-zero exit with pwsh -File) when a required cmdlet fails or the file cannot be
                     written; optional cmdlets that fail only produce warnings.
#>
[CmdletBinding()]
param(
    [ValidateNotNullOrEmpty()]
    [string]$Path = '.\eoplock-snapshot.json',

    [switch]$Force,

    [switch]$SkipDns,

    [ValidateNotNullOrEmpty()]
    [string]$DnsServer,

    [switch]$Connect,

    [ValidateNotNullOrEmpty()]
    [string]$UserPrincipalName,

    [ValidateNotNullOrEmpty()]
    [string]$Organization
)

# ---------------------------------------------------------------------------------------------------------------
# Helpers. None of them returns a collection through the pipeline: collections are stored straight into the
# dictionary they belong to, so that Windows PowerShell 5.1 never sees a PSObject-wrapped array (which its
# ConvertTo-Json would write as {"value": [...], "Count": n}).
# ---------------------------------------------------------------------------------------------------------------

# PowerShell's own remoting properties, not Exchange's.
$script:NoiseProperties = @('PSComputerName', 'RunspaceId', 'PSShowComputerName')
$script:SnapshotWarnings = New-Object -TypeName 'System.Collections.Generic.List[string]'

function Add-SnapshotWarning {
    param([Parameter(Mandatory = $true)][string]$Message)
    Write-Warning -Message $Message
    [void]$script:SnapshotWarnings.Add($Message)
}

function Get-OptionalProperty {
    # The value of a property, or $null when the object does not have it (safe under Set-StrictMode).
    param($InputObject, [Parameter(Mandatory = $true)][string]$Name)
    if ($null -eq $InputObject) { return $null }
    $property = $InputObject.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    return $property.Value
}

function Get-ExoModuleVersion {
    $module = Get-Module -Name ExchangeOnlineManagement |
        Sort-Object -Property Version -Descending | Select-Object -First 1
    if ($null -eq $module) {
        $module = Get-Module -ListAvailable -Name ExchangeOnlineManagement -ErrorAction SilentlyContinue |
            Sort-Object -Property Version -Descending | Select-Object -First 1
    }
    if ($null -eq $module) { return $null }
    return $module.Version.ToString()
}

function Export-CmdletSection {
    # Runs one read-only Get- cmdlet and stores its output, as an array, under $Key in $Snapshot.
    # A required cmdlet that is missing or fails stops the export; an optional one is recorded in Meta.warnings
    # and its key is left out.
    param(
        [Parameter(Mandatory = $true)][System.Collections.IDictionary]$Snapshot,
        [Parameter(Mandatory = $true)][string]$CmdletName,
        [Parameter(Mandatory = $true)][string]$Key,
        [switch]$Required,
        # For an optional cmdlet that some tenants do not have by design: recorded in Meta.warnings as this note
        # instead of a warning on screen.
        [string]$AbsentNote
    )
    if ($CmdletName -notmatch '^Get-') { throw "Internal error: '$CmdletName' is not a read-only Get- cmdlet." }

    $command = Get-Command -Name $CmdletName -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $command) {
        $message = "$CmdletName is not available in this session (the signed-in account's roles or the tenant's " +
            "licences do not include it)"
        if ($Required) { throw "$message. The snapshot needs '$Key'; nothing was written." }
        if ($AbsentNote) {
            Write-Verbose -Message "$CmdletName is not available: $AbsentNote"
            [void]$script:SnapshotWarnings.Add("$CmdletName is not available in this session ($AbsentNote); '$Key' was left out of the snapshot.")
            return
        }
        Add-SnapshotWarning -Message "$message; '$Key' was left out of the snapshot."
        return
    }

    $arguments = @{ ErrorAction = 'Stop' }
    $parameters = $command.Parameters
    if ($null -ne $parameters -and $parameters.ContainsKey('ResultSize')) { $arguments['ResultSize'] = 'Unlimited' }

    try {
        $items = @(& $CmdletName @arguments |
            Select-Object -Property * -ExcludeProperty $script:NoiseProperties)
    } catch {
        $reason = $_.Exception.Message
        if ($Required) { throw "$CmdletName failed: $reason The snapshot needs '$Key'; nothing was written." }
        Add-SnapshotWarning -Message "$CmdletName failed: $reason '$Key' was left out of the snapshot."
        return
    }

    $Snapshot[$Key] = $items
    Write-Verbose -Message ('{0}: {1} object(s)' -f $CmdletName, $items.Count)
}

function Test-DnsNoAnswer {
    # True when a Resolve-DnsName error only means "no such name" or "no record of that type".
    param([Parameter(Mandatory = $true)]$ErrorRecord)
    $id = [string]$ErrorRecord.FullyQualifiedErrorId
    if ($id -match '^(DNS_ERROR_RCODE_NAME_ERROR|DNS_INFO_NO_RECORDS|DNS_ERROR_RECORD_DOES_NOT_EXIST)\b') {
        return $true
    }
    $code = Get-OptionalProperty -InputObject $ErrorRecord.Exception -Name 'NativeErrorCode'
    # 9003 DNS_ERROR_RCODE_NAME_ERROR, 9501 DNS_INFO_NO_RECORDS, 9701 DNS_ERROR_RECORD_DOES_NOT_EXIST
    if ($null -ne $code -and @(9003, 9501, 9701) -contains [int]$code) { return $true }
    return $false
}

function Invoke-DnsQuery {
    # Returns an object: Ok = $false when the lookup failed (a warning is recorded), else Records = the records of
    # $Type (possibly none).
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [Parameter(Mandatory = $true)][string]$Type,
        [string]$Server
    )
    $arguments = @{ Name = $Name; Type = $Type; DnsOnly = $true; ErrorAction = 'Stop' }
    if ($Server) { $arguments['Server'] = $Server }
    $records = @()
    try {
        $records = @(Resolve-DnsName @arguments |
            Where-Object { [string](Get-OptionalProperty -InputObject $_ -Name 'Type') -eq $Type })
    } catch {
        if (-not (Test-DnsNoAnswer -ErrorRecord $_)) {
            Add-SnapshotWarning -Message ("DNS lookup of {0} {1} failed: {2} It was left out of Dns." -f
                $Type, $Name, $_.Exception.Message)
            return [pscustomobject]@{ Ok = $false; Records = @() }
        }
        $records = @()
    }
    return [pscustomobject]@{ Ok = $true; Records = $records }
}

function ConvertTo-TxtText {
    # A TXT record split into several strings is joined into one.
    param($Record)
    $parts = Get-OptionalProperty -InputObject $Record -Name 'Strings'
    if ($null -eq $parts) { $parts = Get-OptionalProperty -InputObject $Record -Name 'Text' }
    return (@($parts) -join '')
}

function Format-DnsHostName {
    # A host name without its trailing dot; the root "." (a null MX, RFC 7505) is kept as it is.
    param($Value)
    $text = [string]$Value
    if ($text.Length -gt 1) { $text = $text.TrimEnd('.') }
    return $text
}

function Add-DomainDns {
    # Looks up MX, apex TXT, _dmarc TXT and the two DKIM selectors of one domain, and stores them in $Dns[$Domain].
    param(
        [Parameter(Mandatory = $true)][System.Collections.IDictionary]$Dns,
        [Parameter(Mandatory = $true)][string]$Domain,
        [string]$Server
    )
    $entry = [ordered]@{}

    $query = Invoke-DnsQuery -Name $Domain -Type 'MX' -Server $Server
    if ($query.Ok) {
        $entry['MX'] = @($query.Records |
            Sort-Object -Property @{ Expression = { [int](Get-OptionalProperty -InputObject $_ -Name 'Preference') } },
                @{ Expression = { [string](Get-OptionalProperty -InputObject $_ -Name 'NameExchange') } } |
            ForEach-Object {
                '{0} {1}' -f (Get-OptionalProperty -InputObject $_ -Name 'Preference'),
                    (Format-DnsHostName -Value (Get-OptionalProperty -InputObject $_ -Name 'NameExchange'))
            })
    }

    $query = Invoke-DnsQuery -Name $Domain -Type 'TXT' -Server $Server
    if ($query.Ok) {
        $entry['TXT'] = @($query.Records | ForEach-Object { ConvertTo-TxtText -Record $_ })
    }

    $query = Invoke-DnsQuery -Name ('_dmarc.{0}' -f $Domain) -Type 'TXT' -Server $Server
    if ($query.Ok) {
        $entry['DMARC'] = @($query.Records | ForEach-Object { ConvertTo-TxtText -Record $_ })
    }

    $dkim = [ordered]@{}
    foreach ($selector in @('selector1', 'selector2')) {
        $name = '{0}._domainkey.{1}' -f $selector, $Domain
        $query = Invoke-DnsQuery -Name $name -Type 'CNAME' -Server $Server
        if (-not $query.Ok) { continue }
        $targets = @($query.Records | ForEach-Object {
                Format-DnsHostName -Value (Get-OptionalProperty -InputObject $_ -Name 'NameHost')
            } | Where-Object { $_ -ne '' })
        if ($targets.Count -gt 0) {
            $dkim[$selector] = $targets
            continue
        }
        $query = Invoke-DnsQuery -Name $name -Type 'TXT' -Server $Server
        if (-not $query.Ok) { continue }
        $dkim[$selector] = @($query.Records | ForEach-Object { ConvertTo-TxtText -Record $_ })
    }
    $entry['DKIM'] = $dkim

    $Dns[$Domain] = $entry
}

# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------

$activity = 'Exporting eoplock snapshot'
$previousErrorActionPreference = $ErrorActionPreference
$tempPath = $null

try {
    Set-StrictMode -Version 2
    $ErrorActionPreference = 'Stop'

    if (-not $Connect -and
        ($PSBoundParameters.ContainsKey('UserPrincipalName') -or $PSBoundParameters.ContainsKey('Organization'))) {
        throw '-UserPrincipalName and -Organization are only used together with -Connect.'
    }

    # Where to write; refuse early, before any work, if the file exists and -Force was not given.
    $fullPath = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Path)
    $directory = [System.IO.Path]::GetDirectoryName($fullPath)
    if ([string]::IsNullOrEmpty($directory) -or -not [System.IO.Directory]::Exists($directory)) {
        throw "The folder for '$fullPath' does not exist. Create it first or choose another -Path."
    }
    if ([System.IO.Directory]::Exists($fullPath)) {
        throw "'$fullPath' is a folder. Give -Path a file name, for example '$fullPath\eoplock-snapshot.json'."
    }
    if ([System.IO.File]::Exists($fullPath) -and -not $Force) {
        throw "'$fullPath' already exists. Use -Force to overwrite it, or choose another -Path."
    }

    if ($Connect) {
        Write-Progress -Activity $activity -Status 'Connecting to Exchange Online' -PercentComplete 0
        if ($null -eq (Get-Command -Name Connect-ExchangeOnline -ErrorAction SilentlyContinue)) {
            throw ('Connect-ExchangeOnline was not found. Install the ExchangeOnlineManagement module first: ' +
                'Install-Module ExchangeOnlineManagement -Scope CurrentUser')
        }
        $connectArguments = @{ ShowBanner = $false }
        if ($UserPrincipalName) { $connectArguments['UserPrincipalName'] = $UserPrincipalName }
        if ($Organization) { $connectArguments['Organization'] = $Organization }
        Connect-ExchangeOnline @connectArguments
    }

    if ($null -eq (Get-Command -Name Get-OrganizationConfig -ErrorAction SilentlyContinue)) {
        throw ('Not connected to Exchange Online: Get-OrganizationConfig is not available in this session. ' +
            'Run Connect-ExchangeOnline first (from the ExchangeOnlineManagement module; Install-Module ' +
            'ExchangeOnlineManagement -Scope CurrentUser), or run this script with -Connect.')
    }

    $meta = [ordered]@{
        eoplockSnapshot   = 1
        tenant            = $null
        initialDomain     = $null
        capturedAt        = (Get-Date).ToUniversalTime().ToString('o')
        exportedBy        = 'Export-EoplockSnapshot.ps1'
        powershellVersion = $PSVersionTable.PSVersion.ToString()
        exoModuleVersion  = (Get-ExoModuleVersion)
        warnings          = @()
    }
    $snapshot = [ordered]@{ Meta = $meta }

    # Read-only cmdlets only, in the order of docs/snapshot-format.md.
    $sections = @(
        @{ Cmdlet = 'Get-OrganizationConfig'; Key = 'OrganizationConfig'; Required = $true },
        @{ Cmdlet = 'Get-AcceptedDomain'; Key = 'AcceptedDomain'; Required = $true },
        @{ Cmdlet = 'Get-InboundConnector'; Key = 'InboundConnector'; Required = $true },
        @{ Cmdlet = 'Get-TransportRule'; Key = 'TransportRule'; Required = $true },
        @{ Cmdlet = 'Get-AntiPhishPolicy'; Key = 'AntiPhishPolicy'; Required = $false },
        @{ Cmdlet = 'Get-AntiPhishRule'; Key = 'AntiPhishRule'; Required = $false },
        @{ Cmdlet = 'Get-HostedContentFilterPolicy'; Key = 'HostedContentFilterPolicy'; Required = $false },
        @{ Cmdlet = 'Get-HostedContentFilterRule'; Key = 'HostedContentFilterRule'; Required = $false },
        @{ Cmdlet = 'Get-HostedConnectionFilterPolicy'; Key = 'HostedConnectionFilterPolicy'; Required = $false },
        @{ Cmdlet = 'Get-DkimSigningConfig'; Key = 'DkimSigningConfig'; Required = $false },
        @{ Cmdlet = 'Get-EOPProtectionPolicyRule'; Key = 'EOPProtectionPolicyRule'; Required = $false },
        @{ Cmdlet = 'Get-ATPProtectionPolicyRule'; Key = 'ATPProtectionPolicyRule'; Required = $false;
            AbsentNote = 'a tenant without Microsoft Defender for Office 365 has no such cmdlet' }
    )
    $totalSteps = $sections.Count + 2   # the cmdlets, DNS, writing the file
    $step = 0
    foreach ($section in $sections) {
        Write-Progress -Activity $activity -Status ('Running {0}' -f $section.Cmdlet) `
            -PercentComplete ([int](100 * $step / $totalSteps))
        $absentNote = ''
        if ($section.ContainsKey('AbsentNote')) { $absentNote = $section.AbsentNote }
        Export-CmdletSection -Snapshot $snapshot -CmdletName $section.Cmdlet -Key $section.Key `
            -Required:$section.Required -AbsentNote $absentNote
        $step++
    }

    $organization = @($snapshot['OrganizationConfig'])
    if ($organization.Count -eq 0) { throw 'Get-OrganizationConfig returned nothing; nothing was written.' }
    $acceptedDomains = @($snapshot['AcceptedDomain'])
    if ($acceptedDomains.Count -eq 0) { throw 'Get-AcceptedDomain returned nothing; nothing was written.' }

    $tenant = [string](Get-OptionalProperty -InputObject $organization[0] -Name 'DisplayName')
    if ([string]::IsNullOrEmpty($tenant)) {
        $tenant = [string](Get-OptionalProperty -InputObject $organization[0] -Name 'Name')
    }
    $meta['tenant'] = $tenant

    $initial = $acceptedDomains |
        Where-Object { [string](Get-OptionalProperty -InputObject $_ -Name 'InitialDomain') -eq 'True' } |
        Select-Object -First 1
    if ($null -ne $initial) {
        $meta['initialDomain'] = [string](Get-OptionalProperty -InputObject $initial -Name 'DomainName')
    } else {
        Add-SnapshotWarning -Message 'No accepted domain is marked InitialDomain; Meta.initialDomain is empty.'
    }

    # DNS
    Write-Progress -Activity $activity -Status 'Looking up DNS records' -PercentComplete ([int](100 * $step / $totalSteps))
    if ($SkipDns) {
        [void]$script:SnapshotWarnings.Add('DNS lookups were skipped (-SkipDns); the snapshot has no Dns key.')
    } elseif ($null -eq (Get-Command -Name Resolve-DnsName -ErrorAction SilentlyContinue)) {
        Add-SnapshotWarning -Message ('Resolve-DnsName is not available (it ships with Windows only), so the DNS ' +
            'lookups were skipped and the snapshot has no Dns key. Run the script on Windows for DNS data, or pass ' +
            '-SkipDns to skip them on purpose.')
    } else {
        $domainNames = New-Object -TypeName 'System.Collections.Generic.List[string]'
        foreach ($domain in $acceptedDomains) {
            $name = ([string](Get-OptionalProperty -InputObject $domain -Name 'DomainName')).Trim().TrimEnd('.').ToLowerInvariant()
            if ($name.StartsWith('*.')) { $name = $name.Substring(2) }
            if ($name -eq '') { continue }
            if ($name.EndsWith('.onmicrosoft.com') -or $name.EndsWith('.onmicrosoft.us')) { continue }
            if (-not $domainNames.Contains($name)) { [void]$domainNames.Add($name) }
        }
        $dns = [ordered]@{}
        $index = 0
        foreach ($name in $domainNames) {
            $index++
            Write-Progress -Activity $activity -Status ('Looking up DNS records of {0} ({1} of {2})' -f
                $name, $index, $domainNames.Count) -PercentComplete ([int](100 * $step / $totalSteps))
            Add-DomainDns -Dns $dns -Domain $name -Server $DnsServer
        }
        $snapshot['Dns'] = $dns
    }
    $step++

    # Write: temporary file in the same folder, then move it into place.
    Write-Progress -Activity $activity -Status ('Writing {0}' -f $fullPath) -PercentComplete ([int](100 * $step / $totalSteps))
    $meta['warnings'] = $script:SnapshotWarnings.ToArray()

    $convertArguments = @{ Depth = 10 }
    if ($PSVersionTable.PSVersion.Major -ge 6) { $convertArguments['EnumsAsStrings'] = $true }
    $json = ConvertTo-Json -InputObject $snapshot @convertArguments

    $tempPath = [System.IO.Path]::Combine($directory,
        ('.{0}.{1}.tmp' -f [System.IO.Path]::GetFileName($fullPath), [guid]::NewGuid().ToString('N')))
    [System.IO.File]::WriteAllText($tempPath, $json, (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))

    if ([System.IO.File]::Exists($fullPath)) {
        if (-not $Force) {
            throw "'$fullPath' appeared while the snapshot was being taken. Use -Force to overwrite it."
        }
        $backupPath = $tempPath + '.bak'
        try {
            # Atomic swap on the same volume; the old file is kept as a backup until the swap has worked.
            [System.IO.File]::Replace($tempPath, $fullPath, $backupPath)
        } catch {
            # Some file systems (for example some network shares) cannot replace a file in one step.
            [System.IO.File]::Copy($tempPath, $fullPath, $true)
        }
        if ([System.IO.File]::Exists($backupPath)) { [System.IO.File]::Delete($backupPath) }
    } else {
        [System.IO.File]::Move($tempPath, $fullPath)
    }

    $counts = @(foreach ($section in $sections) {
            if ($snapshot.Contains($section.Key)) { '{0} {1}' -f @($snapshot[$section.Key]).Count, $section.Key }
        })
    Write-Host ('Snapshot of {0} written to {1}' -f $tenant, $fullPath)
    Write-Host ('  ' + ($counts -join ', '))
    if ($script:SnapshotWarnings.Count -gt 0) {
        Write-Host ('  {0} note(s) recorded in Meta.warnings' -f $script:SnapshotWarnings.Count)
    }
    Write-Host ('Next: npx eoplock simulate "{0}" --corpus builtin' -f $fullPath)
    Get-Item -LiteralPath $fullPath
} finally {
    Write-Progress -Activity $activity -Completed
    if ($null -ne $tempPath -and [System.IO.File]::Exists($tempPath)) {
        try {
            [System.IO.File]::Delete($tempPath)
        } catch {
            Write-Warning -Message ("Could not remove the temporary file '{0}': {1}" -f $tempPath, $_.Exception.Message)
        }
    }
    $ErrorActionPreference = $previousErrorActionPreference
}
