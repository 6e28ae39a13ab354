# An appinstaller tool such as WinDbg (templates/powershell/steps/tool-appinstaller.ps1.j2):
# Install-AppInstallerTool and its package marker.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../../..')) 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'WinDbg from its .appinstaller' {
    AfterEach { Remove-StandInMachine }

    It 'provisions WinDbg for all users from the .appinstaller' {
        $machine = New-StandInMachine -Lab $lab
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $machine.Appx['Microsoft.WinDbg'].Version | Should -Be '1.2410.11001.0'
        (Get-StandInStep 'tool:windbg').message | Should -Be 'Provisioned Microsoft.WinDbg 1.2410.11001.0 for all users'
    }
    It 'a second run finds the package by its marker and downloads nothing' {
        $machine = New-StandInMachine -Lab $lab
        Invoke-StandInScript | Should -Be 0
        $machine.Downloads.Clear()
        Set-StandInDownload -Url 'https://aka.ms/windbg/download' -Unreachable
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $step = Get-StandInStep 'tool:windbg'
        $step.status | Should -Be 'skipped'
        $step.message | Should -Match '^Microsoft\.WinDbg 1\.2410\.11001\.0 is already provisioned'
        $machine.Downloads | Should -BeNullOrEmpty
    }
}
