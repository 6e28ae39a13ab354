<#
.SYNOPSIS
    Runs bootstrap commands (the CustomScriptExtension's and Packer's) against a stand-in instance
    metadata service, every case in this one process. Driven by engine_bootstrap.rs.
.DESCRIPTION
    Cases is a JSON file: an array of { id, command, dir, userData, env }. For each case:
    - command (a .ps1 file holding the command's PowerShell text, unchanged) runs with `&`, with
      $env:ProgramData set to <dir>/ProgramData and the case's extra environment variables;
    - the stand-in IMDS (an HttpListener on 127.0.0.1, in its own runspace) serves userData as
      IMDS does: the text itself at /metadata/instance/compute/userData, only with the header
      `Metadata: true`; a global Invoke-RestMethod sends http://169.254.169.254/... there;
    - provision.ps1 is stopped at its first command: a global Set-StrictMode records the run
      (the script's path and its -Mode) and exits the script with 42, so no provisioning step ever
      runs on the test machine and a run is observable (exit code 42 and the record).
    A terminating error that leaves the command counts as `powershell.exe -Command` counts it:
    exit code 1 (the message is kept).
    Results is written as a JSON array of { id, exitCode, error, runs, requests }.
#>
param(
    [Parameter(Mandatory = $true)][string]$Cases,
    [Parameter(Mandatory = $true)][string]$Results
)

$ErrorActionPreference = 'Stop'
$all = @(Get-Content -Raw -LiteralPath $Cases | ConvertFrom-Json)

# A free loopback port (chosen by the system, then handed to the listener).
$probe = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
$probe.Start()
$port = $probe.LocalEndpoint.Port
$probe.Stop()

$imds = [hashtable]::Synchronized(@{ UserData = ''; Requests = [Collections.ArrayList]::new() })
$listener = [Net.HttpListener]::new()
$listener.Prefixes.Add("http://127.0.0.1:$port/")
$listener.Start()
$server = [powershell]::Create()
$null = $server.AddScript({
        param($listener, $imds)
        while ($listener.IsListening) {
            try { $context = $listener.GetContext() } catch { break }
            $request = $context.Request
            $response = $context.Response
            $null = $imds.Requests.Add(('{0} {1} Metadata={2}' -f $request.HttpMethod, $request.Url.PathAndQuery, $request.Headers['Metadata']))
            if ($request.Headers['Metadata'] -ne 'true') {
                $response.StatusCode = 400
                $body = 'Bad request. Required metadata header not specified'
            }
            elseif ($request.Url.AbsolutePath -ne '/metadata/instance/compute/userData' -or $request.QueryString['format'] -ne 'text' -or -not $request.QueryString['api-version']) {
                $response.StatusCode = 404
                $body = 'Not found'
            }
            else {
                $response.StatusCode = 200
                $body = [string]$imds.UserData
            }
            $bytes = [Text.Encoding]::UTF8.GetBytes($body)
            $response.ContentType = 'text/plain; charset=utf-8'
            $response.ContentLength64 = $bytes.Length
            $response.OutputStream.Write($bytes, 0, $bytes.Length)
            $response.Close()
        }
    }).AddArgument($listener).AddArgument($imds)
$serving = $server.BeginInvoke()

$global:WcigenImdsBase = "http://127.0.0.1:$port/"
function global:Invoke-RestMethod {
    param([string]$Uri, [hashtable]$Headers, [switch]$UseBasicParsing)
    if ($Uri -notmatch '^http://169\.254\.169\.254/') { throw ('stand-in IMDS: unexpected URI {0}' -f $Uri) }
    $local = $global:WcigenImdsBase + $Uri.Substring('http://169.254.169.254/'.Length)
    Microsoft.PowerShell.Utility\Invoke-RestMethod -UseBasicParsing -Headers $Headers -Uri $local
}

$global:WcigenRuns = [Collections.ArrayList]::new()
# Made from text, not declared here: `exit` in a function declared in this file would end this
# file, not provision.ps1.
$null = New-Item -Path function:global:Set-StrictMode -Value ([scriptblock]::Create(@'
$caller = (Get-PSCallStack)[1]
# PowerShell's own formatting calls Set-StrictMode too (error views): pass those through.
if ([IO.Path]::GetFileName([string]$caller.ScriptName) -ne 'provision.ps1') { Microsoft.PowerShell.Core\Set-StrictMode @args; return }
$mode = Get-Variable -Name Mode -Scope 1 -ValueOnly -ErrorAction SilentlyContinue
$null = $global:WcigenRuns.Add([ordered]@{ script = $caller.ScriptName; mode = $mode })
exit 42
'@))

$out = [Collections.ArrayList]::new()
$savedProgramData = $env:ProgramData
try {
    foreach ($case in $all) {
        $imds.UserData = $case.userData
        $imds.Requests.Clear()
        $global:WcigenRuns.Clear()
        $programData = Join-Path $case.dir 'ProgramData'
        $null = New-Item -ItemType Directory -Force -Path $programData
        $env:ProgramData = $programData
        $saved = @{}
        foreach ($p in @($case.env.PSObject.Properties)) {
            $saved[$p.Name] = [Environment]::GetEnvironmentVariable($p.Name)
            [Environment]::SetEnvironmentVariable($p.Name, [string]$p.Value)
        }
        $global:LASTEXITCODE = 0
        $exitCode = $null
        $message = $null
        try {
            & $case.command
            $exitCode = $global:LASTEXITCODE
        }
        catch {
            $exitCode = 1
            $message = $_.Exception.Message
        }
        finally {
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
            $env:ProgramData = $savedProgramData
        }
        $null = $out.Add([ordered]@{
                id       = $case.id
                exitCode = $exitCode
                error    = $message
                runs     = @($global:WcigenRuns)
                requests = @($imds.Requests)
            })
    }
}
finally {
    $listener.Stop()
    $listener.Close()
    $null = $serving.AsyncWaitHandle.WaitOne(5000)
    $server.Dispose()
}
ConvertTo-Json -InputObject @($out) -Depth 5 | Set-Content -LiteralPath $Results -Encoding utf8NoBOM
