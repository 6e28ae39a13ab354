# Logging and state (templates/powershell/helpers/log-state.ps1.j2): state.json replaced whole,
# never left half-written or as a .tmp, never failing the run; each step's record and the log.
# (A reader holding the file open without delete sharing cannot be modelled here: .NET's
# File.Replace on Linux is rename(2), which no open handle blocks; the retry path is exercised by
# a write that fails for another reason.)
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../../..')) 'examples/lab.yaml'
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
    It 'records each step with its times and outcome, logs it, and ends the run with a summary' {
        $machine = New-StandInMachine -Lab $lab
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $step = Get-StandInStep 'preflight'
        $step.status | Should -Be 'done'
        $step.phase | Should -Be 'phase1'
        # (PowerShell 7's ConvertFrom-Json reads the UTC timestamps as dates.)
        $step.startedAt | Should -BeOfType [DateTime]
        $step.finishedAt | Should -BeOfType [DateTime]
        $step.finishedAt | Should -BeGreaterOrEqual $step.startedAt
        $log = Get-StandInLog
        $log | Should -Match '\[INFO\] Step preflight: running'
        $log | Should -Match '\[INFO\] Step preflight: done'
        $log | Should -Match 'wcigen provisioning summary'
        $log | Should -Match 'done\s+feature:Containers\s+'
    }
}
