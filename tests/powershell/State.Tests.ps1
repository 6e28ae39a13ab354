# state.json: replaced whole, never left half-written or as a .tmp, never failing the run, and
# telling the truth about a pending restart. (A reader holding the file open without delete
# sharing cannot be modelled here: .NET's File.Replace on Linux is rename(2), which no open
# handle blocks; the retry path is exercised by a write that fails for another reason.)
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../..')) 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'The state file' {
    AfterEach { Remove-StandInMachine }

    It 'is complete JSON after every run, and no temporary file is left behind' {
        $machine = New-StandInMachine -Lab $lab
        Invoke-StandInScript | Should -Be 0
        $null = Restart-StandInMachine
        (Get-StandInState).status | Should -Be 'complete'
        @(Get-ChildItem -LiteralPath (Get-StandInPath 'C:\ProgramData\wcigen') -Filter '*.tmp') | Should -BeNullOrEmpty
    }
    It 'a state file that cannot be written is retried and logged, and provisioning goes on' {
        $machine = New-StandInMachine -Lab $lab
        # A folder where the temporary file must go: every write of it fails.
        $null = New-Item -ItemType Directory -Force -Path (Get-StandInPath 'C:\ProgramData\wcigen\state.json.tmp')
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $machine.RestartScheduled | Should -BeTrue
        Get-StandInLog | Should -Match 'Could not write C:.ProgramData.wcigen.state\.json after 5 attempts'
        $machine.Sleeps | Should -Contain 0.2
    }
    It 'a run that fails after installing a feature reports the pending restart' {
        $machine = New-StandInMachine -Lab $lab
        Set-StandInDownload -Url 'https://download.sysinternals.com/files/SysinternalsSuite.zip' -Status 404
        Invoke-StandInScript | Should -Be 1
        $state = Get-StandInState
        $state.status | Should -Be 'failed'
        $machine.Features['Containers'] | Should -Be 'InstallPending'
        $state.rebootPending | Should -BeTrue
        (Get-StandInStep 'tool:sysinternals' -State $state).status | Should -Be 'failed'
    }
}
