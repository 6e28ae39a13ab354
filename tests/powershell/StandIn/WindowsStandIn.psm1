<#
.SYNOPSIS
    A stand-in Windows Server for running the rendered provision.ps1 under PowerShell on Linux.

.DESCRIPTION
    Why this exists: provision.ps1 is only ever run on Windows, but its own logic (ordering,
    idempotence, state file, exit codes, retries, the reboot boundary, the lock) can be proven
    by running the real script under the real PowerShell against stand-ins for the Windows
    commands it calls. Every stand-in works over ONE model of the machine ($global:WcigenStandIn):
    features and their install state, capabilities, services, firewall rules with their
    profiles, scheduled tasks, the registry values the script reads (the machine PATH with its
    value kind, the RebootPending key), ACLs, provisioned Appx packages, Docker, files on the
    C: drive (a PowerShell drive over a temporary folder), the downloads made and the restarts.

    The stand-ins model what Windows documents, not what the script expects:
      - Install-WindowsFeature returns RestartNeeded 'Yes' for Containers and Hyper-V and
        leaves the feature 'InstallPending' until a restart
        (https://learn.microsoft.com/powershell/module/servermanager/install-windowsfeature).
      - The OpenSSH.Server capability creates the rule OpenSSH-Server-In-TCP; it is modelled
        with the Private profile only, the case the rule must be corrected from
        (https://learn.microsoft.com/windows-server/administration/openssh/openssh_install_firstuse).
      - The machine PATH is REG_EXPAND_SZ; RegistryKey.GetValue expands %VARS% unless asked
        for DoNotExpandEnvironmentNames; Set-ItemProperty writes the kind given by -Type
        (https://learn.microsoft.com/dotnet/api/microsoft.win32.registryvalueoptions).
      - DISM refuses to add a capability while a restart is pending (CBS_E_PENDING).
      - Windows PowerShell 5.1 is %SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe;
        PowerShell 7's $PSHOME holds pwsh.exe only
        (https://learn.microsoft.com/powershell/scripting/whats-new/differences-from-windows-powershell).
      - Task Scheduler fails a task whose action's program does not exist (0x80070002).
      - Get-NetFirewallRule's Profile is 'Any' or a set of Domain, Private, Public.
    What no stand-in can prove (real DISM, servicing over WinRM, real reboots, Windows
    PowerShell 5.1's runtime) stays a matter of review: see the README.
#>

Set-StrictMode -Version 3.0

# The model and tables live in global variables, not in this module's script scope: a script run from
# a module function becomes that session state's "script scope", so $script: in a stand-in
# would name the running provision.ps1's variables instead of the model.

$global:WcigenStandIn = $null
$global:WcigenStandInServer = $null
$global:WcigenStandInInstalled = @()
$global:WcigenRepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../../..')).Path

# ---------------------------------------------------------------------------------------
# The fixture HTTP server (loopback only): /<host>/<path> serves the download fixtures,
# /imds/... the instance metadata service's userData.
# ---------------------------------------------------------------------------------------
function Start-StandInServer {
    if ($null -ne $global:WcigenStandInServer) { return $global:WcigenStandInServer }
    $shared = [hashtable]::Synchronized(@{
            Root      = $null
            Overrides = [hashtable]::Synchronized(@{})
            Log       = [System.Collections.ArrayList]::Synchronized([System.Collections.ArrayList]::new())
            UserData  = ''
        })
    $listener = [System.Net.HttpListener]::new()
    $port = 0
    for ($try = 0; $try -lt 20; $try++) {
        $port = Get-Random -Minimum 20000 -Maximum 60000
        $listener = [System.Net.HttpListener]::new()
        $listener.Prefixes.Add("http://127.0.0.1:$port/")
        try { $listener.Start(); break } catch { $port = 0 }
    }
    if ($port -eq 0) { throw 'Could not start the fixture HTTP server on 127.0.0.1' }
    $runspace = [runspacefactory]::CreateRunspace()
    $runspace.Open()
    $ps = [powershell]::Create()
    $ps.Runspace = $runspace
    $null = $ps.AddScript({
            param($listener, $shared)
            while ($listener.IsListening) {
                try { $context = $listener.GetContext() } catch { break }
                $path = [Uri]::UnescapeDataString($context.Request.Url.AbsolutePath)
                $null = $shared.Log.Add($path)
                $response = $context.Response
                try {
                    $bytes = $null
                    $status = 200
                    if ($path -like '/imds/*') {
                        if ($context.Request.Headers['Metadata'] -ne 'true') { $status = 400 }
                        else { $bytes = [Text.Encoding]::UTF8.GetBytes([string]$shared.UserData) }
                    }
                    else {
                        $override = $shared.Overrides[$path]
                        $file = Join-Path $shared.Root $path.TrimStart('/')
                        if ($null -ne $override -and $override.Status) { $status = [int]$override.Status }
                        elseif ($null -ne $override -and $override.File) { $bytes = [IO.File]::ReadAllBytes($override.File) }
                        elseif ([IO.File]::Exists($file)) { $bytes = [IO.File]::ReadAllBytes($file) }
                        else { $status = 404 }
                    }
                    $response.StatusCode = $status
                    if ($null -ne $bytes) {
                        $response.ContentType = 'application/octet-stream'
                        $response.ContentLength64 = $bytes.Length
                        $response.OutputStream.Write($bytes, 0, $bytes.Length)
                    }
                }
                finally { $response.Close() }
            }
        }).AddArgument($listener).AddArgument($shared)
    $handle = $ps.BeginInvoke()
    $global:WcigenStandInServer = [pscustomobject]@{ Listener = $listener; Port = $port; Shared = $shared; PowerShell = $ps; Handle = $handle }
    # The listener's thread would keep the process alive: stop it when PowerShell exits or the
    # module is removed, whether or not a test file's AfterAll ran.
    $null = Register-EngineEvent -SourceIdentifier PowerShell.Exiting -Action { $global:WcigenStandInServer.Listener.Stop() }
    $ExecutionContext.SessionState.Module.OnRemove = { Stop-StandInServer }
    return $global:WcigenStandInServer
}

function Stop-StandInServer {
    if ($null -eq $global:WcigenStandInServer) { return }
    $global:WcigenStandInServer.Listener.Stop()
    $global:WcigenStandInServer.Listener.Close()
    $global:WcigenStandInServer.PowerShell.Dispose()
    $global:WcigenStandInServer = $null
}

# ---------------------------------------------------------------------------------------
# Fixture downloads: the files that stand in for the lab's downloads, made once per run.
# ---------------------------------------------------------------------------------------
$global:WcigenSignedMarker = 'MZ stand-in PE; Authenticode: Valid'
$global:WcigenUnsignedMarker = 'MZ stand-in PE; Authenticode: NotSigned'

function New-FixtureZip {
    param([string]$Path, [hashtable]$Entries)
    Add-Type -AssemblyName System.IO.Compression
    $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $Path)
    $stream = [IO.File]::Create($Path)
    try {
        $zip = [IO.Compression.ZipArchive]::new($stream, [IO.Compression.ZipArchiveMode]::Create)
        foreach ($name in ($Entries.Keys | Sort-Object)) {
            $entry = $zip.CreateEntry($name)
            $entry.LastWriteTime = [DateTimeOffset]::new(2024, 1, 1, 0, 0, 0, [TimeSpan]::Zero)
            $writer = [IO.StreamWriter]::new($entry.Open())
            $writer.Write($Entries[$name]); $writer.Dispose()
        }
        $zip.Dispose()
    }
    finally { $stream.Dispose() }
}

function Initialize-StandInDownloads {
    param([Parameter(Mandatory = $true)][string]$Root)
    $fixtures = Join-Path $PSScriptRoot '../fixtures/downloads'
    Copy-Item -Recurse -Force -Path (Join-Path $fixtures '*') -Destination $Root
    New-FixtureZip -Path (Join-Path $Root 'download.sysinternals.com/files/SysinternalsSuite.zip') -Entries @{
        'procexp64.exe' = $global:WcigenSignedMarker; 'procmon64.exe' = $global:WcigenSignedMarker; 'Eula.txt' = 'eula'
    }
    New-FixtureZip -Path (Join-Path $Root 'github.com/zodiacon/AllTools/archive/refs/heads/master.zip') -Entries @{
        'AllTools-master/ObjExp.exe' = $global:WcigenSignedMarker; 'AllTools-master/README.md' = 'tools'
    }
    New-FixtureZip -Path (Join-Path $Root 'github.com/zodiacon/AllTools/archive/refs/tags/v1.0.zip') -Entries @{
        'AllTools-1.0/ObjExp.exe' = $global:WcigenSignedMarker
    }
    New-FixtureZip -Path (Join-Path $Root '_alternates/unsigned.zip') -Entries @{ 'tool.exe' = $global:WcigenUnsignedMarker }
}

# ---------------------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------------------
function New-StandInMachine {
    <#
    .SYNOPSIS
        A fresh Windows Server 2022 Azure VM: renders the lab (its downloads' hashes pinned
        to the fixtures) and returns the machine; every later call works on it.
    #>
    param(
        [Parameter(Mandatory = $true)][string]$Lab,
        [switch]$KeepHashes
    )
    $server = Start-StandInServer
    $root = Join-Path ([IO.Path]::GetTempPath()) ('wcigen-standin-' + [guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Force -Path (Join-Path $root 'C/Windows/System32/WindowsPowerShell/v1.0'), (Join-Path $root 'C/ProgramData'), (Join-Path $root 'C/Users/wcigen'), (Join-Path $root 'server'), (Join-Path $root 'render')
    Initialize-StandInDownloads -Root (Join-Path $root 'server')
    $server.Shared.Root = Join-Path $root 'server'
    $server.Shared.Overrides.Clear()
    $server.Shared.Log.Clear()

    $labText = [IO.File]::ReadAllText((Resolve-Path $Lab).Path)
    if (-not $KeepHashes) { $labText = Update-LabHashes -Text $labText -ServerRoot (Join-Path $root 'server') }
    $labCopy = Join-Path $root 'render/lab.yaml'
    [IO.File]::WriteAllText($labCopy, $labText)
    $out = Join-Path $root 'render/out'
    $wcigen = Get-WcigenBinary
    $rendered = & $wcigen render $labCopy -o $out 2>&1
    if ($LASTEXITCODE -ne 0) { throw "wcigen render failed for ${Lab}: $rendered" }

    $global:WcigenStandIn = @{
        Root           = $root
        Lab            = $Lab
        Out            = $out
        Script         = Join-Path $out 'powershell/provision.ps1'
        Features       = @{ 'Containers' = 'Available'; 'Hyper-V' = 'Available'; 'Windows-Defender' = 'Installed'; 'Web-Server' = 'Available' }
        Capabilities   = @{ 'OpenSSH.Server~~~~0.0.1.0' = 'NotPresent' }
        Services       = @{ 'WinRM' = @{ Status = 'Running'; StartType = 'Automatic' } }
        FirewallRules  = @{}
        Tasks          = @{}
        Registry       = @{
            'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment' = @{
                Path = @{ Kind = 'ExpandString'; Value = '%SystemRoot%\system32;%SystemRoot%;%SystemRoot%\System32\Wbem;%SYSTEMROOT%\System32\WindowsPowerShell\v1.0\;%SYSTEMROOT%\System32\OpenSSH\' }
            }
        }
        RebootPending  = $false
        Acls           = @{}
        Appx           = @{}
        Certificates   = @()
        WinRmListeners = @()
        Docker         = @{ Version = $null; DaemonAnswers = $true; StartFails = $false; SmokeTestPasses = $true; SmokeTestFailsFirst = 0; RunCount = 0 }
        Downloads      = [System.Collections.Generic.List[string]]::new()
        Sleeps         = [System.Collections.Generic.List[double]]::new()
        Clock          = [DateTime]::Now
        # Run after every (virtual) Start-Sleep: lets a test change the machine while a script waits.
        OnSleep        = $null
        Restarts       = 0
        BootTime       = [DateTime]::new(2026, 1, 1, 6, 0, 0, [DateTimeKind]::Utc)
        RestartScheduled = $false
        Events         = [System.Collections.Generic.List[string]]::new()
        Unreachable    = @{}
        NotListening   = @()
        FeatureNeverCompletes = $false
        # A Windows without Server Manager's feature cmdlets (a client edition).
        NotWindowsServer = $false
        # What shutdown.exe exits with (1190: a shutdown is already scheduled).
        ShutdownExitCode = 0
        LastOutput     = ''
        ChildTls       = $null
    }
    New-StandInFile -Path 'C:\Windows\System32\shutdown.exe'
    New-StandInFile -Path 'C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe'
    return $global:WcigenStandIn
}

function Get-StandInMachine { return $global:WcigenStandIn }

function Get-StandInReadyScript {
    <#
    .SYNOPSIS
        The ready step's waiting script exactly as Azure receives it (the Run Command's
        source.script in the rendered ARM template), written to a file; returns its path.
    #>
    $arm = Get-Content -Raw -LiteralPath (Join-Path $global:WcigenStandIn.Out 'arm/azuredeploy.json') | ConvertFrom-Json
    $command = @($arm.resources | Where-Object type -EQ 'Microsoft.Compute/virtualMachines/runCommands')
    if ($command.Count -ne 1) { throw "The ARM template has $($command.Count) run commands" }
    $path = Join-Path $global:WcigenStandIn.Root 'ready.ps1'
    [IO.File]::WriteAllText($path, [string]$command[0].properties.source.script, (New-Object System.Text.UTF8Encoding($true)))
    return $path
}

function Remove-StandInMachine {
    if ($null -ne $global:WcigenStandIn) {
        Remove-Item -Recurse -Force -LiteralPath $global:WcigenStandIn.Root -ErrorAction SilentlyContinue
        $global:WcigenStandIn = $null
    }
}

function Get-WcigenBinary {
    if ($env:WCIGEN_BIN) { return $env:WCIGEN_BIN }
    foreach ($candidate in @('target/debug/wcigen', 'target/release/wcigen')) {
        $path = Join-Path $global:WcigenRepoRoot $candidate
        if (Test-Path -LiteralPath $path) { return $path }
    }
    throw 'wcigen is not built: run `cargo build` or set WCIGEN_BIN'
}

# The lab's pinned SHA-256s name the real files; the fixtures stand in for them, so a lab is
# rendered with each pinned hash replaced by its fixture's (the URL decides which fixture).
# Labs whose Docker install script is the built-in default get it written out explicitly.
function Update-LabHashes {
    param([string]$Text, [string]$ServerRoot)
    $lines = [System.Collections.Generic.List[string]]::new()
    $lastUrl = $null
    $sawInstallScript = $false
    foreach ($line in ($Text -split "`n")) {
        if ($line -match '^\s*-?\s*url:\s*["'']?(https://[^"''\s]+)') { $lastUrl = $Matches[1] }
        if ($line -match '^\s*installScript:') { $sawInstallScript = $true }
        if ($line -match '^(\s*sha256:\s*["'']?)([0-9A-Fa-f]{64})(.*)$' -and $null -ne $lastUrl) {
            $fixture = Get-FixturePath -Url $lastUrl -ServerRoot $ServerRoot
            if (Test-Path -LiteralPath $fixture) {
                $line = $Matches[1] + (Get-FileHash -LiteralPath $fixture -Algorithm SHA256).Hash.ToLowerInvariant() + $Matches[3]
            }
        }
        $lines.Add($line)
    }
    $Text = $lines -join "`n"
    if (-not $sawInstallScript -and $Text -notmatch '(?ms)^\s*docker:\s*\n\s*enabled:\s*false') {
        $default = 'https://raw.githubusercontent.com/microsoft/Windows-Containers/86af3b6b0f9e6928c3888d29fb601596a3211f60/helpful_tools/Install-DockerCE/install-docker-ce.ps1'
        $hash = (Get-FileHash -LiteralPath (Get-FixturePath -Url $default -ServerRoot $ServerRoot) -Algorithm SHA256).Hash.ToLowerInvariant()
        $entry = "installScript: {url: `"$default`", sha256: `"$hash`"}"
        if ($Text -match '(?m)^(\s*)docker:\s*$') {
            $line = $Matches[0]; $indent = $Matches[1] + '  '
            $Text = $Text.Replace($line, $line + "`n" + $indent + $entry)
        }
        elseif ($Text -match '(?m)^provisioning:\s*$') {
            $Text = $Text.Replace($Matches[0], $Matches[0] + "`n  docker:`n    " + $entry)
        }
        else {
            $Text = $Text.TrimEnd() + "`nprovisioning:`n  docker:`n    " + $entry + "`n"
        }
    }
    return $Text
}

function Get-FixturePath {
    param([string]$Url, [string]$ServerRoot)
    $uri = [Uri]$Url
    return (Join-Path $ServerRoot ($uri.Host + [Uri]::UnescapeDataString($uri.AbsolutePath)))
}

# Files on the stand-in's C: drive (Windows spelling in, native path out).
function Get-StandInPath {
    param([Parameter(Mandatory = $true)][string]$Path)
    if ($Path -notmatch '^[Cc]:[\\/]') { throw "Not a C: path: $Path" }
    return (Join-Path $global:WcigenStandIn.Root ('C/' + $Path.Substring(3).Replace('\', '/')))
}

function New-StandInFile {
    param([string]$Path, [string]$Content = 'stand-in')
    $native = Get-StandInPath -Path $Path
    $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $native)
    [IO.File]::WriteAllText($native, $Content)
}

function Get-StandInState {
    $path = Get-StandInPath -Path 'C:\ProgramData\wcigen\state.json'
    if (-not (Test-Path -LiteralPath $path)) { return $null }
    return (Get-Content -Raw -LiteralPath $path | ConvertFrom-Json)
}

# One step's record in state.json (of the state given, or the machine's current one).
function Get-StandInStep {
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name, $State)
    if ($null -eq $State) { $State = Get-StandInState }
    return ($State.steps | Where-Object name -EQ $Name)
}

function Get-StandInLog {
    $path = Get-StandInPath -Path 'C:\ProgramData\wcigen\provision.log'
    if (-not (Test-Path -LiteralPath $path)) { return '' }
    return (Get-Content -Raw -LiteralPath $path)
}

function Get-MachinePathValue {
    return $global:WcigenStandIn.Registry['HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment'].Path
}

function Set-StandInDownload {
    <# Makes a URL answer with an HTTP status, another fixture file, or not at all. #>
    param([Parameter(Mandatory = $true)][string]$Url, [int]$Status, [string]$Alternate, [switch]$Unreachable)
    if ($Url -eq '*') { $global:WcigenStandIn.Unreachable['*'] = $true; return }
    $uri = [Uri]$Url
    $key = '/' + $uri.Host + [Uri]::UnescapeDataString($uri.AbsolutePath)
    if ($Unreachable) { $global:WcigenStandIn.Unreachable[$uri.Host] = $true; return }
    if ($Status) { $global:WcigenStandInServer.Shared.Overrides[$key] = @{ Status = $Status } }
    if ($Alternate) { $global:WcigenStandInServer.Shared.Overrides[$key] = @{ File = (Join-Path $global:WcigenStandInServer.Shared.Root ('_alternates/' + $Alternate)) } }
}

# ---------------------------------------------------------------------------------------
# Running the script, restarts and the startup task
# ---------------------------------------------------------------------------------------
function Invoke-StandInScript {
    <#
    .SYNOPSIS
        Runs a script file on the stand-in machine (the rendered provision.ps1 by default)
        and returns its exit code; its console output is kept in the machine's LastOutput.
    #>
    param([string]$Path, [string[]]$Arguments = @(), [hashtable]$Environment = @{})
    if (-not $Path) { $Path = $global:WcigenStandIn.Script }
    return (Invoke-OnStandIn -Environment $Environment -Action { & $Path @Arguments })
}

function Invoke-OnStandIn {
    param([scriptblock]$Action, [hashtable]$Environment = @{})
    $saved = @{}
    $variables = @{
        ProgramData = 'C:\ProgramData'; SystemRoot = 'C:\Windows'; windir = 'C:\Windows'
        COMPUTERNAME = 'WCI-STANDIN'; USERPROFILE = 'C:\Users\wcigen'; WCIGEN_MODE = $null
    }
    foreach ($name in $Environment.Keys) { $variables[$name] = $Environment[$name] }
    foreach ($name in $variables.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $variables[$name])
    }
    $null = New-PSDrive -Name C -PSProvider FileSystem -Root (Join-Path $global:WcigenStandIn.Root 'C') -Scope Global
    Install-StandInCommands
    $location = Get-Location
    $savedPreference = $global:ErrorActionPreference
    try {
        $global:LASTEXITCODE = 0
        $output = & { & $Action } *>&1 | Out-String
        $code = $global:LASTEXITCODE
        $global:WcigenStandIn.LastOutput = $output
        return $code
    }
    finally {
        Uninstall-StandInCommands
        Set-Location $location
        $global:ErrorActionPreference = $savedPreference
        Remove-PSDrive -Name C -Scope Global -Force -ErrorAction SilentlyContinue
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    }
}

function Restart-StandInMachine {
    <#
    .SYNOPSIS
        A restart: pending features become installed, automatic services start, and every
        at-startup task runs (its exit code is returned; $null when no task ran).
    #>
    $m = $global:WcigenStandIn
    if (-not $m.FeatureNeverCompletes) {
        foreach ($name in @($m.Features.Keys)) { if ($m.Features[$name] -eq 'InstallPending') { $m.Features[$name] = 'Installed' } }
        $m.RebootPending = $false
    }
    $m.RestartScheduled = $false
    $m.Restarts++
    $m.BootTime = $m.BootTime.AddMinutes(10)
    $m.Events.Add('restart')
    foreach ($name in @($m.Services.Keys)) {
        $service = $m.Services[$name]
        if ($service.StartType -eq 'Automatic') {
            $service.Status = if ($name -eq 'docker' -and $m.Docker.StartFails) { 'Stopped' } else { 'Running' }
        }
        else { $service.Status = 'Stopped' }
    }
    $code = $null
    foreach ($taskName in @($m.Tasks.Keys | Sort-Object)) {
        $task = $m.Tasks[$taskName]
        if ($task.Trigger -ne 'AtStartup') { continue }
        $code = Invoke-StandInTask -Name $taskName
    }
    return $code
}

function Invoke-StandInTask {
    param([Parameter(Mandatory = $true)][string]$Name)
    $task = $global:WcigenStandIn.Tasks[$Name]
    $program = $task.Execute
    if (-not (Test-Path -LiteralPath (Get-StandInPath -Path $program))) {
        # Task Scheduler: ERROR_FILE_NOT_FOUND as the task's last result; nothing runs.
        $task.LastResult = 0x80070002
        return $task.LastResult
    }
    $arguments = ConvertFrom-CommandLine -Text $task.Argument
    $code = Invoke-OnStandIn -Action { & $program @arguments }.GetNewClosure()
    $task.LastResult = $code
    return $code
}

# A Windows command line split as CommandLineToArgvW does for the simple cases used here.
function ConvertFrom-CommandLine {
    param([string]$Text)
    $out = [System.Collections.Generic.List[string]]::new()
    foreach ($m in [regex]::Matches($Text, '"([^"]*)"|(\S+)')) {
        if ($m.Groups[1].Success) { $out.Add($m.Groups[1].Value) } else { $out.Add($m.Groups[2].Value) }
    }
    return , $out.ToArray()
}

# ---------------------------------------------------------------------------------------
# The stand-in commands (installed as global functions only while a script runs)
# ---------------------------------------------------------------------------------------
# Cmdlets that exist on every host: the stand-in handles the Windows paths (HKLM:, WSMan:,
# Cert:), the clock and the executables, and passes everything else to the real cmdlet. Each
# gets a proxy with the real cmdlet's parameters, so callers (Expand-Archive included) bind
# exactly as they would against the cmdlet. A handler returns $null to pass the call through.
$global:WcigenStandInIntercepts = [ordered]@{
    'Microsoft.PowerShell.Management\Test-Path'        = {
        param($Bound)
        $path = @($Bound['LiteralPath'] + $Bound['Path'])[0]
        if ($null -ne $path -and (Test-RegistryPath $path)) {
            if ($path -like '*\Component Based Servicing\RebootPending') { return , [bool]$global:WcigenStandIn.RebootPending }
            return , $global:WcigenStandIn.Registry.ContainsKey($path)
        }
    }
    'Microsoft.PowerShell.Management\Get-Item'         = {
        param($Bound)
        $path = @($Bound['LiteralPath'] + $Bound['Path'])[0]
        if ($null -ne $path -and (Test-RegistryPath $path)) { return , (Get-RegistryKeyObject -Path $path) }
        if ($null -ne $path -and $path -like 'WSMan:\localhost\Listener\*\CertificateThumbprint') {
            $listener = @($global:WcigenStandIn.WinRmListeners | Where-Object { $path -like ('*\' + $_.Name + '\*') })[0]
            return , [pscustomobject]@{ Value = $listener.Thumbprint }
        }
    }
    'Microsoft.PowerShell.Management\Set-ItemProperty' = {
        param($Bound)
        $path = @($Bound['LiteralPath'] + $Bound['Path'])[0]
        if ($null -ne $path -and (Test-RegistryPath $path)) {
            $values = $global:WcigenStandIn.Registry[$path]
            # Without -Type the registry provider writes a string as REG_SZ.
            $kind = if ($Bound.ContainsKey('Type')) { [string]$Bound['Type'] } else { 'String' }
            $values[[string]$Bound['Name']] = @{ Kind = $kind; Value = [string]$Bound['Value'] }
            return , @()
        }
    }
    'Microsoft.PowerShell.Management\Set-Item'         = {
        param($Bound)
        $path = @($Bound['LiteralPath'] + $Bound['Path'])[0]
        if ($null -ne $path -and $path -like 'WSMan:\*') {
            $listener = @($global:WcigenStandIn.WinRmListeners | Where-Object { $path -like ('*\' + $_.Name + '\*') })[0]
            $listener.Thumbprint = [string]$Bound['Value']
            return , @()
        }
    }
    'Microsoft.PowerShell.Management\Get-ChildItem'    = {
        param($Bound)
        $path = @($Bound['LiteralPath'] + $Bound['Path'])[0]
        if ($path -eq 'WSMan:\localhost\Listener') {
            return , @(foreach ($l in $global:WcigenStandIn.WinRmListeners) { [pscustomobject]@{ Name = $l.Name; Keys = @('Transport=HTTPS', 'Address=*') } })
        }
        if ($path -eq 'Cert:\LocalMachine\My') { return , @($global:WcigenStandIn.Certificates) }
    }
    'Microsoft.PowerShell.Management\New-Item'         = {
        param($Bound)
        $path = @($Bound['Path'])[0]
        if ($path -eq 'WSMan:\localhost\Listener') {
            $global:WcigenStandIn.WinRmListeners += [pscustomobject]@{ Name = 'Listener_1305953032'; Thumbprint = [string]$Bound['CertificateThumbPrint']; Transport = [string]$Bound['Transport'] }
            return , [pscustomobject]@{ Name = 'Listener_1305953032' }
        }
    }
    'Microsoft.PowerShell.Utility\Get-Date'            = {
        param($Bound)
        if ($Bound.Count -eq 0) { return , $global:WcigenStandIn.Clock }
    }
    'Microsoft.PowerShell.Utility\Start-Sleep'         = {
        param($Bound)
        $seconds = if ($Bound.ContainsKey('Milliseconds')) { [double]$Bound['Milliseconds'] / 1000 } else { [double]$Bound['Seconds'] }
        $global:WcigenStandIn.Sleeps.Add($seconds)
        $global:WcigenStandIn.Clock = $global:WcigenStandIn.Clock.AddSeconds($seconds)
        if ($null -ne $global:WcigenStandIn.OnSleep) { & $global:WcigenStandIn.OnSleep }
        return , @()
    }
    'Microsoft.PowerShell.Core\Get-Command'            = {
        param($Bound)
        if ($Bound.ContainsKey('Name') -and $Bound.ContainsKey('CommandType') -and [string]$Bound['CommandType'] -eq 'Application') {
            $executable = Resolve-StandInExecutable -Name ([string]@($Bound['Name'])[0])
            if ($null -ne $executable) { return , $executable }
        }
    }
}

# Parameters that providers add to these cmdlets (registry, WSMan, file system).
$global:WcigenStandInProviderParameters = @{
    'Set-ItemProperty' = '[Parameter()][string]$Type'
    'New-Item'         = '[Parameter()][string]$Transport, [Parameter()][string]$Address, [Parameter()][string]$CertificateThumbPrint'
    'Get-ChildItem'    = '[Parameter()][switch]$Directory, [Parameter()][switch]$File, [Parameter()][switch]$Hidden, [Parameter()][switch]$ReadOnly, [Parameter()][switch]$System, [Parameter()][switch]$FollowSymlink'
}

function New-ProxyText {
    param([string]$Qualified)
    $short = $Qualified.Split('\')[1]
    $metadata = [System.Management.Automation.CommandMetadata]::new((Microsoft.PowerShell.Core\Get-Command $Qualified))
    $params = [System.Management.Automation.ProxyCommand]::GetParamBlock($metadata)
    $extra = $global:WcigenStandInProviderParameters[$short]
    if ($extra) { $params = if ($params.Trim()) { $params + ",`n" + $extra } else { $extra } }
    $binding = [System.Management.Automation.ProxyCommand]::GetCmdletBindingAttribute($metadata)
    return @"
$binding
param($params)
`$result = Invoke-StandInIntercept -Name '$Qualified' -Bound `$PSBoundParameters
if (`$null -ne `$result) { return `$result[0] }
$(if ($extra) { "foreach (`$p in @('Type', 'Transport', 'Address', 'CertificateThumbPrint')) { `$null = `$PSBoundParameters.Remove(`$p) }" })
$Qualified @PSBoundParameters
"@
}

# Returns $null to pass through, or a one-element array holding the result.
function Invoke-StandInIntercept {
    param([string]$Name, [hashtable]$Bound)
    $value = & $global:WcigenStandInIntercepts[$Name] $Bound
    if ($null -eq $value) { return $null }
    return , @(, $value)
}

function Install-StandInCommands {
    $global:WcigenStandInInstalled = @()
    foreach ($qualified in $global:WcigenStandInIntercepts.Keys) {
        $short = $qualified.Split('\')[1]
        $proxy = $ExecutionContext.SessionState.Module.NewBoundScriptBlock([scriptblock]::Create((New-ProxyText -Qualified $qualified)))
        Set-Item -Path ('function:global:' + $short) -Value $proxy
        $global:WcigenStandInInstalled += $short
    }
    foreach ($entry in $global:WcigenStandInCommands.GetEnumerator()) {
        if ($global:WcigenStandIn.NotWindowsServer -and $entry.Key -like '*-WindowsFeature') { continue }
        # Bound to this module, so that the stand-ins see the one machine model.
        $bound = $ExecutionContext.SessionState.Module.NewBoundScriptBlock($entry.Value)
        Set-Item -Path ('function:global:' + $entry.Key) -Value $bound
        $global:WcigenStandInInstalled += $entry.Key
    }
}

function Uninstall-StandInCommands {
    # 'function:\NAME' (the module has no function of these names, so this is the global one);
    # Remove-Item reads no scope in 'function:global:NAME' and would remove nothing.
    foreach ($name in $global:WcigenStandInInstalled) { Remove-Item -LiteralPath ('function:\' + $name) -ErrorAction SilentlyContinue }
    $global:WcigenStandInInstalled = @()
}

function Get-Switch { param($Arguments, [string]$Name) return (@($Arguments) -contains ('-' + $Name)) }
function Get-Named {
    param($Arguments, [string]$Name)
    $list = @($Arguments)
    for ($i = 0; $i -lt $list.Count - 1; $i++) {
        if ($list[$i] -is [string] -and $list[$i] -match ('^-' + $Name + ':?$')) { return $list[$i + 1] }
    }
    return $null
}

function Assert-Service {
    param([string]$Name)
    $service = $global:WcigenStandIn.Services[$Name]
    if ($null -eq $service) { throw [Microsoft.PowerShell.Commands.ServiceCommandException]::new("Cannot find any service with service name '$Name'.") }
    return $service
}

function New-ServiceObject {
    param([string]$Name)
    $s = $global:WcigenStandIn.Services[$Name]
    return [pscustomobject]@{ Name = $Name; Status = $s.Status; StartType = $s.StartType }
}

function Test-RegistryPath { param([string]$Path) return ($Path -match '^(HKLM|Registry::HKEY_LOCAL_MACHINE)[:\\]') }

function Get-RegistryKeyObject {
    param([string]$Path)
    $values = $global:WcigenStandIn.Registry[$Path]
    if ($null -eq $values) { throw "Cannot find path '$Path' because it does not exist." }
    $key = [pscustomobject]@{ Name = $Path }
    $key | Add-Member -MemberType ScriptMethod -Name GetValue -Value {
        param($name, $default, $options)
        $v = $values[$name]
        if ($null -eq $v) { return $default }
        if ($v.Kind -eq 'ExpandString' -and [string]$options -ne 'DoNotExpandEnvironmentNames') {
            return [regex]::Replace($v.Value, '%([^%]+)%', { param($m) if ($m.Groups[1].Value -ieq 'SystemRoot') { 'C:\Windows' } else { $m.Value } })
        }
        return $v.Value
    }.GetNewClosure()
    $key | Add-Member -MemberType ScriptMethod -Name GetValueKind -Value { param($name) return $values[$name].Kind }.GetNewClosure()
    return $key
}

function Invoke-StandInDownload {
    param([string]$Uri, [string]$OutFile, [switch]$Rest, [hashtable]$Headers)
    $parsed = [Uri]$Uri
    $global:WcigenStandIn.Downloads.Add($parsed.GetLeftPart([UriPartial]::Path))
    $port = $global:WcigenStandInServer.Port
    if ($parsed.Host -eq '169.254.169.254') { $local = "http://127.0.0.1:$port/imds" + $parsed.PathAndQuery }
    elseif ($global:WcigenStandIn.Unreachable[$parsed.Host] -or $global:WcigenStandIn.Unreachable['*']) { $local = 'http://127.0.0.1:1/' + $parsed.Host + $parsed.PathAndQuery }
    else { $local = "http://127.0.0.1:$port/" + $parsed.Host + $parsed.PathAndQuery }
    if ($Rest) { return (Microsoft.PowerShell.Utility\Invoke-RestMethod -Uri $local -Headers $Headers -TimeoutSec 10) }
    Microsoft.PowerShell.Utility\Invoke-WebRequest -Uri $local -OutFile $OutFile -TimeoutSec 10 | Out-Null
}

function Install-StandInDocker {
    <# What install-docker-ce.ps1 does to a machine (anchors.md A12): binaries in System32, a
       download folder in the user's profile, the docker service registered and started. #>
    param([string]$Version)
    $m = $global:WcigenStandIn
    New-StandInFile -Path ("C:\Users\wcigen\DockerDownloads\docker-$Version.zip")
    New-StandInFile -Path 'C:\Windows\System32\docker.exe'
    New-StandInFile -Path 'C:\Windows\System32\dockerd.exe'
    $m.Docker.Version = $Version
    $m.ChildTls = [string][Net.ServicePointManager]::SecurityProtocol
    $m.Services['docker'] = @{ Status = 'Stopped'; StartType = 'Automatic' }
    if (-not $m.Docker.StartFails) { $m.Services['docker'].Status = 'Running' }
    $m.Events.Add("docker-installed:$Version")
}

$global:WcigenStandInCommands = [ordered]@{
    # --- Server Manager / DISM -----------------------------------------------------------
    'Get-WindowsFeature'           = {
        $name = Get-Named $args 'Name'
        foreach ($n in @($name)) {
            $state = $global:WcigenStandIn.Features[$n]
            if ($null -ne $state) { [pscustomobject]@{ Name = $n; InstallState = $state } }
        }
    }
    'Install-WindowsFeature'       = {
        $name = [string](Get-Named $args 'Name')
        if ($null -eq $global:WcigenStandIn.Features[$name]) { throw "ArgumentNotValid: Invalid roles, role services, or features: '$name'" }
        $needsRestart = @('Containers', 'Hyper-V') -contains $name
        $global:WcigenStandIn.Features[$name] = if ($needsRestart) { 'InstallPending' } else { 'Installed' }
        if ($needsRestart) { $global:WcigenStandIn.RebootPending = $true }
        $global:WcigenStandIn.Events.Add("feature-installed:$name")
        [pscustomobject]@{ Success = $true; RestartNeeded = $(if ($needsRestart) { 'Yes' } else { 'No' }); ExitCode = $(if ($needsRestart) { 'SuccessRestartRequired' } else { 'Success' }) }
    }
    'Get-WindowsCapability'        = {
        $name = [string](Get-Named $args 'Name')
        $state = $global:WcigenStandIn.Capabilities[$name]
        if ($null -ne $state) { [pscustomobject]@{ Name = $name; State = $state } }
    }
    'Add-WindowsCapability'        = {
        $name = [string](Get-Named $args 'Name')
        # DISM refuses servicing while a restart is pending: CBS_E_PENDING (0x800F082F),
        # https://learn.microsoft.com/windows-hardware/manufacture/desktop/dism-error-codes
        if ($global:WcigenStandIn.RebootPending) { throw 'Add-WindowsCapability failed. Error code = 0x800f082f' }
        $global:WcigenStandIn.Capabilities[$name] = 'Installed'
        $global:WcigenStandIn.Events.Add("capability-added:$name")
        if ($name -like 'OpenSSH.Server*') {
            $global:WcigenStandIn.Services['sshd'] = @{ Status = 'Stopped'; StartType = 'Manual' }
            $global:WcigenStandIn.Services['ssh-agent'] = @{ Status = 'Stopped'; StartType = 'Disabled' }
            $global:WcigenStandIn.FirewallRules['OpenSSH-Server-In-TCP'] = @{ Enabled = 'True'; Direction = 'Inbound'; Action = 'Allow'; Profile = 'Private'; Protocol = 'TCP'; LocalPort = @('22') }
        }
        [pscustomobject]@{ Online = $true; RestartNeeded = $false }
    }
    # --- Services ------------------------------------------------------------------------
    'Get-Service'                  = {
        $name = [string](Get-Named $args 'Name')
        if ($null -eq $global:WcigenStandIn.Services[$name]) {
            if ((Get-Named $args 'ErrorAction') -eq 'SilentlyContinue') { return }
            throw "Cannot find any service with service name '$name'."
        }
        New-ServiceObject -Name $name
    }
    'Set-Service'                  = { (Assert-Service ([string](Get-Named $args 'Name'))).StartType = [string](Get-Named $args 'StartupType') }
    'Start-Service'                = {
        $name = [string](Get-Named $args 'Name'); $s = Assert-Service $name
        if ($name -eq 'docker' -and $global:WcigenStandIn.Docker.StartFails) { throw "Service 'Docker Engine (docker)' cannot be started due to the following error: Cannot start service docker on computer '.'." }
        $s.Status = 'Running'
    }
    'Stop-Service'                 = { (Assert-Service ([string](Get-Named $args 'Name'))).Status = 'Stopped' }
    'Restart-Service'              = {
        $name = [string](Get-Named $args 'Name'); $s = Assert-Service $name
        if ($name -eq 'docker' -and $global:WcigenStandIn.Docker.StartFails) { $s.Status = 'Stopped'; throw 'Failed to start service docker' }
        $s.Status = 'Running'
    }
    # --- Firewall and TCP ----------------------------------------------------------------
    'Get-NetFirewallRule'          = {
        $name = [string](Get-Named $args 'Name')
        $r = $global:WcigenStandIn.FirewallRules[$name]
        if ($null -eq $r) {
            if ((Get-Named $args 'ErrorAction') -eq 'SilentlyContinue') { return }
            throw "No MSFT_NetFirewallRule objects found with property 'Name' equal to '$name'."
        }
        [pscustomobject]@{ Name = $name; Enabled = $r.Enabled; Direction = $r.Direction; Action = $r.Action; Profile = $r.Profile }
    }
    'New-NetFirewallRule'          = {
        $name = [string](Get-Named $args 'Name')
        if ($global:WcigenStandIn.FirewallRules.ContainsKey($name)) { throw "Cannot create a file when that file already exists." }
        $global:WcigenStandIn.FirewallRules[$name] = @{
            Enabled = [string](Get-Named $args 'Enabled'); Direction = [string](Get-Named $args 'Direction'); Action = [string](Get-Named $args 'Action')
            Profile = [string](Get-Named $args 'Profile'); Protocol = [string](Get-Named $args 'Protocol'); LocalPort = @([string](Get-Named $args 'LocalPort'))
        }
    }
    'Set-NetFirewallRule'          = {
        $r = $global:WcigenStandIn.FirewallRules[[string](Get-Named $args 'Name')]
        if ($null -eq $r) { throw 'No MSFT_NetFirewallRule objects found' }
        foreach ($p in 'Enabled', 'Direction', 'Action', 'Profile', 'Protocol') { $v = Get-Named $args $p; if ($null -ne $v) { $r[$p] = [string]$v } }
        $port = Get-Named $args 'LocalPort'; if ($null -ne $port) { $r.LocalPort = @([string]$port) }
    }
    'Enable-NetFirewallRule'       = { $global:WcigenStandIn.FirewallRules[[string](Get-Named $args 'Name')].Enabled = 'True' }
    'Get-NetFirewallPortFilter'    = {
        $rule = Get-Named $args 'AssociatedNetFirewallRule'
        $r = $global:WcigenStandIn.FirewallRules[$rule.Name]
        [pscustomobject]@{ Protocol = $r.Protocol; LocalPort = $r.LocalPort }
    }
    'Get-NetTCPConnection'         = {
        $port = [int](Get-Named $args 'LocalPort')
        if ($global:WcigenStandIn.NotListening -contains $port) { return }
        $listening = switch ($port) {
            22 { $null -ne $global:WcigenStandIn.Services['sshd'] -and $global:WcigenStandIn.Services['sshd'].Status -eq 'Running' }
            5986 { $global:WcigenStandIn.Services['WinRM'].Status -eq 'Running' -and @($global:WcigenStandIn.WinRmListeners).Count -gt 0 }
            default { $false }
        }
        if ($listening) { [pscustomobject]@{ LocalPort = $port; State = 'Listen' } }
    }
    # --- Scheduled tasks -----------------------------------------------------------------
    'New-ScheduledTaskAction'      = { [pscustomobject]@{ Execute = [string](Get-Named $args 'Execute'); Arguments = [string](Get-Named $args 'Argument') } }
    'New-ScheduledTaskTrigger'     = { [pscustomobject]@{ Kind = $(if (Get-Switch $args 'AtStartup') { 'AtStartup' } else { 'Other' }); Delay = $null } }
    'New-ScheduledTaskPrincipal'   = { [pscustomobject]@{ UserId = [string](Get-Named $args 'UserId'); RunLevel = [string](Get-Named $args 'RunLevel') } }
    'New-ScheduledTaskSettingsSet' = { [pscustomobject]@{ ExecutionTimeLimit = Get-Named $args 'ExecutionTimeLimit' } }
    'Register-ScheduledTask'       = {
        $name = [string](Get-Named $args 'TaskName'); $action = Get-Named $args 'Action'; $trigger = Get-Named $args 'Trigger'; $principal = Get-Named $args 'Principal'
        $global:WcigenStandIn.Tasks[$name] = @{ Execute = $action.Execute; Argument = $action.Arguments; Trigger = $trigger.Kind; Delay = $trigger.Delay; UserId = $principal.UserId; LastResult = $null }
        [pscustomobject]@{ TaskName = $name }
    }
    'Get-ScheduledTask'            = {
        $name = [string](Get-Named $args 'TaskName')
        if ($global:WcigenStandIn.Tasks.ContainsKey($name)) { [pscustomobject]@{ TaskName = $name } }
        elseif ((Get-Named $args 'ErrorAction') -ne 'SilentlyContinue') { throw "No MSFT_ScheduledTask objects found with property 'TaskName' equal to '$name'." }
    }
    'Unregister-ScheduledTask'     = { $global:WcigenStandIn.Tasks.Remove([string](Get-Named $args 'TaskName')) }
    'Get-CimInstance'              = {
        $class = [string](Get-Named $args 'ClassName')
        if ($class -ne 'Win32_OperatingSystem') { throw "The stand-in has no CIM class $class" }
        [pscustomobject]@{ LastBootUpTime = $global:WcigenStandIn.BootTime.ToLocalTime() }
    }
    # --- Certificates --------------------------------------------------------------------
    'New-SelfSignedCertificate'    = {
        $number = @($global:WcigenStandIn.Certificates).Count + 1
        $cert = [pscustomobject]@{
            Subject = 'CN=' + @(Get-Named $args 'DnsName')[0]; Thumbprint = ('{0:X}' -f $number).PadLeft(40, '0')
            HasPrivateKey = $true; NotBefore = $global:WcigenStandIn.Clock.AddMinutes(-5); NotAfter = [DateTime](Get-Named $args 'NotAfter')
            FriendlyName = [string](Get-Named $args 'FriendlyName'); DnsNames = @(Get-Named $args 'DnsName')
        }
        $global:WcigenStandIn.Certificates += $cert
        $cert
    }
    # --- ACLs, Authenticode, Appx --------------------------------------------------------
    'Get-Acl'                      = {
        $path = [string](Get-Named $args 'LiteralPath')
        $acl = [pscustomobject]@{ Path = $path; Sddl = $null; Sections = $null }
        $acl | Add-Member -MemberType ScriptMethod -Name SetSecurityDescriptorSddlForm -Value { param($sddl, $sections) $this.Sddl = $sddl; $this.Sections = [string]$sections }
        $acl
    }
    'Set-Acl'                      = {
        $path = [string](Get-Named $args 'LiteralPath'); $acl = Get-Named $args 'AclObject'
        if (-not (Microsoft.PowerShell.Management\Test-Path -LiteralPath $path)) { throw "Cannot find path '$path' because it does not exist." }
        $native = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($path)
        $global:WcigenStandIn.Acls[$native.TrimEnd('/')] = @{ Sddl = $acl.Sddl; Sections = $acl.Sections }
    }
    'Get-AuthenticodeSignature'    = {
        $path = [string](Get-Named $args 'LiteralPath')
        $text = Microsoft.PowerShell.Management\Get-Content -Raw -LiteralPath $path
        $status = if ($text -like "$global:WcigenSignedMarker*" -or $text -like 'AppxPackage*signed*') { 'Valid' } else { 'NotSigned' }
        [pscustomobject]@{ Path = $path; Status = $status }
    }
    'Get-AppxProvisionedPackage'   = { foreach ($p in $global:WcigenStandIn.Appx.Values) { [pscustomobject]@{ DisplayName = $p.Name; Version = $p.Version } } }
    'Add-AppxProvisionedPackage'   = {
        $path = [string](Get-Named $args 'PackagePath')
        $text = Microsoft.PowerShell.Management\Get-Content -Raw -LiteralPath $path
        if ($text -notmatch 'AppxPackage Name=(\S+) Version=(\S+)') { throw 'Add-AppxProvisionedPackage : The package is not valid (0x80080204)' }
        $global:WcigenStandIn.Appx[$Matches[1]] = @{ Name = $Matches[1]; Version = $Matches[2]; Dependencies = @(Get-Named $args 'DependencyPackagePath').Count }
        [pscustomobject]@{ Online = $true }
    }
    # --- Network, time -------------------------------------------------------------------
    'Invoke-WebRequest'            = { Invoke-StandInDownload -Uri ([string](Get-Named $args 'Uri')) -OutFile ([string](Get-Named $args 'OutFile')) }
    'Invoke-RestMethod'            = { Invoke-StandInDownload -Rest -Uri ([string](Get-Named $args 'Uri')) -Headers (Get-Named $args 'Headers') }
    # --- Executables -------------------------------------------------------------------
    'shutdown.exe'                 = {
        $global:WcigenStandIn.Events.Add('shutdown ' + ($args -join ' '))
        $code = [int]$global:WcigenStandIn.ShutdownExitCode
        if ($args -contains '/r' -and @(0, 1190) -contains $code) { $global:WcigenStandIn.RestartScheduled = $true }
        $global:LASTEXITCODE = $code
    }
    'C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe' = { Invoke-StandInWindowsPowerShell -Arguments $args }
    'C:\Windows\System32\docker.exe' = { Invoke-StandInDockerCli -Arguments $args }
    'C:\Windows\System32\dockerd.exe' = { Invoke-StandInDockerd -Arguments $args }
}

# Executables are found by the path a script computes; Join-Path on Linux spells it with '/'.
foreach ($exe in @($global:WcigenStandInCommands.Keys | Where-Object { $_ -like 'C:\*' })) {
    $global:WcigenStandInCommands[$exe.Replace('\', '/')] = $global:WcigenStandInCommands[$exe]
}

function Resolve-StandInExecutable {
    param([string]$Name)
    if ($Name -eq 'shutdown.exe') { $Name = 'C:\Windows\System32\shutdown.exe' }
    $windows = $Name.Replace('/', '\')
    if ($windows -notlike 'C:\Windows\System32\*') { return $null }
    if (-not (Test-Path -LiteralPath (Get-StandInPath -Path $windows))) { return $null }
    $function = if ($windows -eq 'C:\Windows\System32\shutdown.exe') { 'shutdown.exe' } else { $windows }
    return [pscustomobject]@{ Name = Split-Path -Leaf $windows; Path = $function; CommandType = 'Application' }
}

function Invoke-StandInWindowsPowerShell {
    param([object[]]$Arguments)
    $list = @($Arguments | ForEach-Object { [string]$_ })
    $file = $null; $rest = @(); $command = $null
    for ($i = 0; $i -lt $list.Count; $i++) {
        if ($list[$i] -eq '-File') { $file = $list[$i + 1]; $rest = @($list | Select-Object -Skip ($i + 2)); break }
        if ($list[$i] -eq '-Command') { $command = ($list | Select-Object -Skip ($i + 1)) -join ' '; break }
    }
    if ($null -eq $file -and $null -eq $command) { throw 'The stand-in powershell.exe runs -File or -Command' }
    $global:WcigenStandIn.Events.Add('powershell.exe ' + $(if ($file) { '-File ' + (Split-Path -Leaf $file) } else { '-Command' }))
    # A child process starts with the machine's default TLS settings, not the parent's.
    $saved = [Net.ServicePointManager]::SecurityProtocol
    [Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::SystemDefault
    $temporary = $null
    try {
        $global:LASTEXITCODE = 0
        if ($null -ne $command) {
            # As a script file, so that its `exit` ends the child, not this process.
            $temporary = Join-Path ([IO.Path]::GetTempPath()) ('wcigen-child-' + [guid]::NewGuid().ToString('N') + '.ps1')
            [IO.File]::WriteAllText($temporary, $command)
            & $temporary
        }
        else {
            $named = @{}
            for ($i = 0; $i -lt $rest.Count; $i++) {
                if ($rest[$i] -match '^-(\w+)$') {
                    if ($i + 1 -lt $rest.Count -and $rest[$i + 1] -notmatch '^-') { $named[$Matches[1]] = $rest[$i + 1]; $i++ } else { $named[$Matches[1]] = $true }
                }
            }
            & $file @named
        }
        $code = $global:LASTEXITCODE
    }
    finally {
        [Net.ServicePointManager]::SecurityProtocol = $saved
        if ($temporary) { Remove-Item -LiteralPath $temporary -ErrorAction SilentlyContinue }
    }
    $global:LASTEXITCODE = $code
}

function Invoke-StandInDockerd {
    param([object[]]$Arguments)
    $m = $global:WcigenStandIn
    switch ([string]@($Arguments)[0]) {
        '--version' { "Docker version $($m.Docker.Version), build stand-in"; $global:LASTEXITCODE = 0 }
        '--unregister-service' { $m.Services.Remove('docker'); $global:LASTEXITCODE = 0 }
        default { $global:LASTEXITCODE = 1 }
    }
}

function Invoke-StandInDockerCli {
    param([object[]]$Arguments)
    $m = $global:WcigenStandIn
    $list = @($Arguments | ForEach-Object { [string]$_ })
    $up = $null -ne $m.Services['docker'] -and $m.Services['docker'].Status -eq 'Running' -and $m.Docker.DaemonAnswers
    if (-not $up) {
        Write-Error 'error during connect: this error may indicate that the docker daemon is not running' -ErrorAction Continue
        $global:LASTEXITCODE = 1; return
    }
    switch ($list[0]) {
        'version' { "Client: Docker Engine - Community`n Version: $($m.Docker.Version)"; $global:LASTEXITCODE = 0 }
        'run' {
            $m.Docker.RunCount++
            if ($m.Docker.SmokeTestPasses -and $m.Docker.RunCount -gt $m.Docker.SmokeTestFailsFirst) { 'Microsoft Windows [Version 10.0.20348.2582]'; $global:LASTEXITCODE = 0 }
            else { Write-Error 'docker: Error response from daemon: hcs::CreateComputeSystem: The virtual machine could not be started.' -ErrorAction Continue; $global:LASTEXITCODE = 125 }
        }
        default { $global:LASTEXITCODE = 0 }
    }
}

Export-ModuleMember -Function New-StandInMachine, Get-StandInReadyScript, Get-StandInStep, Get-StandInMachine, Remove-StandInMachine, Invoke-StandInScript, Invoke-OnStandIn, Restart-StandInMachine, Invoke-StandInTask, Get-StandInState, Get-StandInLog, Get-StandInPath, New-StandInFile, Set-StandInDownload, Get-MachinePathValue, Install-StandInDocker, Start-StandInServer, Stop-StandInServer, Get-WcigenBinary, Get-FixturePath
