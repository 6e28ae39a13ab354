# Native programs, retries and the pending-restart check
# (templates/powershell/helpers/native-command.ps1.j2): Invoke-NativeCommand's exit codes, through
# the reboot step's shutdown.exe, and Test-RebootPending.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../../..')
    $lab = Join-Path $repo 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'Native commands' {
    AfterEach { Remove-StandInMachine }

    It 'an exit code the caller allows (shutdown.exe 1190: a shutdown is already scheduled) is a success' {
        $machine = New-StandInMachine -Lab $lab
        $machine.ShutdownExitCode = 1190
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        (Get-StandInStep 'reboot').status | Should -Be 'done'
        $machine.Tasks.Keys | Should -Contain 'wcigen-provision'
    }
    It 'any other exit code fails the step, naming the program and the code' {
        $machine = New-StandInMachine -Lab $lab
        $machine.ShutdownExitCode = 5
        Invoke-StandInScript | Should -Be 1
        $state = Get-StandInState
        (Get-StandInStep 'reboot' -State $state).status | Should -Be 'failed'
        $state.lastError | Should -Match '^reboot: shutdown\.exe exited with code 5$'
    }
}

Describe 'A restart pending before the run' {
    AfterEach { Remove-StandInMachine }

    It 'is seen (RebootPending key), reported, and not acted on when the lab needs no restart' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/bare.yaml')
        $machine.RebootPending = $true
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        Get-StandInLog | Should -Match 'Preflight passed \(mode Unattended; a reboot is pending: True\)'
        $machine.RestartScheduled | Should -BeFalse
        $state = Get-StandInState
        $state.status | Should -Be 'complete'
        $state.rebootPending | Should -BeTrue
        (Get-StandInStep 'reboot' -State $state).message | Should -Match 'not caused by this lab'
    }
}
