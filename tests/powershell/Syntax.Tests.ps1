# provision.ps1 is for Windows PowerShell 5.1: the real parser reads every rendered script
# (examples, extra labs, hostile labs) without error, and its AST holds no construct that only
# PowerShell 7 knows. The list of 7-only constructs lives here, in one place.
BeforeDiscovery {
    $root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $labs = foreach ($folder in @('examples', 'tests/fixtures/extra-labs', 'tests/fixtures/hostile')) {
        foreach ($file in Get-ChildItem -Path (Join-Path $root $folder) -Filter 'lab*.yaml') { @{ Name = "$folder/$($file.Name)"; Path = $file.FullName } }
        foreach ($file in Get-ChildItem -Path (Join-Path $root $folder) -Filter '*.yaml' | Where-Object { $folder -ne 'tests/fixtures/hostile' -and $_.Name -notlike 'lab*' }) { @{ Name = "$folder/$($file.Name)"; Path = $file.FullName } }
    }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'StandIn/WindowsStandIn.psm1') -Force

    # AST node types and tokens that Windows PowerShell 5.1 does not have.
    $SevenOnlyAst = @{
        'TernaryExpressionAst'  = 'the ternary operator ?: (7.0)'
        'PipelineChainAst'      = 'pipeline chains && and || (7.0)'
    }
    $SevenOnlyTokens = @{
        'QuestionQuestion'       = 'the null-coalescing operator ?? (7.0)'
        'QuestionQuestionEquals' = 'the null-coalescing assignment ??= (7.0)'
        'QuestionDot'            = 'null-conditional member access ?. (7.1)'
        'QuestionLBracket'       = 'null-conditional index ?[] (7.1)'
        'AndAnd'                 = 'pipeline chain && (7.0)'
        'OrOr'                   = 'pipeline chain || (7.0)'
    }
    $SevenOnlyCommands = @(
        'ForEach-Object -Parallel', 'Get-Error', 'Test-Json', 'ConvertFrom-Markdown', 'Join-String',
        'Get-Uptime', 'Remove-Alias', 'Remove-Service', 'Clear-RecycleBin'
    )

    function Get-SevenOnlyFindings {
        param([string]$Path)
        $tokens = $null; $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$tokens, [ref]$errors)
        $findings = @($errors | ForEach-Object { "parse error at line $($_.Extent.StartLineNumber): $($_.Message)" })
        foreach ($node in $ast.FindAll({ $true }, $true)) {
            $kind = $node.GetType().Name
            if ($SevenOnlyAst.ContainsKey($kind)) { $findings += "line $($node.Extent.StartLineNumber): $($SevenOnlyAst[$kind])" }
            if ($node -is [System.Management.Automation.Language.NamedBlockAst] -and $node.BlockKind -eq 'Clean') { $findings += "line $($node.Extent.StartLineNumber): a clean block (7.3)" }
            if ($node -is [System.Management.Automation.Language.CommandAst]) {
                $name = $node.GetCommandName()
                $text = $node.Extent.Text
                foreach ($command in $SevenOnlyCommands) {
                    $parts = $command -split ' '
                    if ($name -eq $parts[0] -and ($parts.Count -eq 1 -or $text -match ('\s' + [regex]::Escape($parts[1]) + '\b'))) { $findings += "line $($node.Extent.StartLineNumber): $command (PowerShell 7 only)" }
                }
            }
        }
        foreach ($token in $tokens) {
            if ($SevenOnlyTokens.ContainsKey([string]$token.Kind)) { $findings += "line $($token.Extent.StartLineNumber): $($SevenOnlyTokens[[string]$token.Kind])" }
        }
        return $findings
    }
}

Describe 'The 7-only detector' {
    It 'finds each construct it lists (it would not pass a script that uses them)' {
        $probe = Join-Path ([IO.Path]::GetTempPath()) ('wcigen-seven-' + [guid]::NewGuid().ToString('N') + '.ps1')
        Set-Content -LiteralPath $probe -Value @'
$a = $true ? 1 : 2
$b = $null ?? 3
$c ??= 4
$d = ${a}?.Length
$e = ${a}?[0]
Get-Item x && Get-Item y
1..2 | ForEach-Object -Parallel { $_ }
function f { process { } clean { } }
Join-String -InputObject 1
'@
        $findings = Get-SevenOnlyFindings -Path $probe
        Remove-Item -LiteralPath $probe
        $text = $findings -join "`n"
        foreach ($expected in @('ternary', 'null-coalescing operator', 'null-coalescing assignment', 'member access', 'conditional index', 'pipeline chain', 'ForEach-Object -Parallel', 'clean block', 'Join-String')) {
            $text | Should -Match ([regex]::Escape($expected))
        }
    }
}

Describe 'provision.ps1 of <Name> is Windows PowerShell 5.1 code' -ForEach $labs {
    BeforeAll {
        $out = Join-Path ([IO.Path]::GetTempPath()) ('wcigen-syntax-' + [guid]::NewGuid().ToString('N'))
        $rendered = & (Get-WcigenBinary) render $Path -o $out --target powershell 2>&1
        $script = Join-Path $out 'powershell/provision.ps1'
    }
    AfterAll { Remove-Item -Recurse -Force -LiteralPath $out -ErrorAction SilentlyContinue }

    It 'renders' { Test-Path -LiteralPath $script | Should -BeTrue -Because "$rendered" }
    It 'parses with no error and uses nothing 7-only' {
        Get-SevenOnlyFindings -Path $script | Should -BeNullOrEmpty
    }
}
