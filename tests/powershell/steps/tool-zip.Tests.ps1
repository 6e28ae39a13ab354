# A zip tool (templates/powershell/steps/tool-zip.ps1.j2): Install-ZipTool, its marker and the
# Authenticode check.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../../..')
    $sysinternals = 'https://download.sysinternals.com/files/SysinternalsSuite.zip'
}
AfterAll { Stop-StandInServer }

Describe 'Zip tools' {
    AfterEach { Remove-StandInMachine }

    It 'unpacks each zip into its folder, flattening a single top-level folder, with a marker' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/lab.yaml')
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        Test-Path -LiteralPath (Get-StandInPath 'C:\bin\sysinternals\procexp64.exe') | Should -BeTrue
        Test-Path -LiteralPath (Get-StandInPath 'C:\bin\pavel_tools\ObjExp.exe') | Should -BeTrue
        $marker = Get-Content -Raw -LiteralPath (Get-StandInPath 'C:\bin\sysinternals\.wcigen-tool.json') | ConvertFrom-Json
        $marker.url | Should -Be $sysinternals
        @(Get-ChildItem -Force -LiteralPath (Get-StandInPath 'C:\bin') -Filter '.wcigen-staging-*') | Should -BeNullOrEmpty
    }
    It 'an unsigned binary fails Authenticode verification and nothing is installed' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/trusted-launch.yaml')
        Set-StandInDownload -Url $sysinternals -Alternate 'unsigned.zip'
        Invoke-StandInScript | Should -Be 1
        $state = Get-StandInState
        (Get-StandInStep 'tool:sysinternals' -State $state).status | Should -Be 'failed'
        $state.lastError | Should -Match 'Authenticode verification failed for 1 of 1 file\(s\): tool\.exe \(NotSigned\)'
        Test-Path -LiteralPath (Get-StandInPath 'C:\tools\sysinternals') | Should -BeFalse
        (Get-MachinePathValue).Value | Should -Not -Match 'sysinternals'
    }
}
