# The whole run of the main template (templates/powershell/provision.ps1.j2: Invoke-Provisioning
# and the main flow), as the IaC targets (Unattended) and Packer (Orchestrated) drive it, a re-run
# of a completed machine, phase 2's retry and a failed run. Each step's own behaviour is tested
# beside it, in steps/ and helpers/ (see README.md).
BeforeDiscovery { $labs = & (Join-Path $PSScriptRoot 'ScenarioLabs.ps1') }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'StandIn/WindowsStandIn.psm1') -Force
}
AfterAll { Stop-StandInServer }

Describe 'Unattended run of <Name>' -ForEach $labs {
    BeforeAll {
        $machine = New-StandInMachine -Lab $Path
        $firstExit = Invoke-StandInScript
        $firstState = Get-StandInState
        $restartScheduled = $machine.RestartScheduled
        $taskAfterPhase1 = $machine.Tasks['wcigen-provision']
        if ($restartScheduled) { $taskExit = Restart-StandInMachine }
        $finalState = Get-StandInState
    }
    AfterAll { Remove-StandInMachine }

    It 'phase 1 exits 0' {
        $firstExit | Should -Be 0 -Because $machine.LastOutput
    }
    It 'restarts and registers the startup task exactly when a feature needs it' {
        if ($Features) {
            $restartScheduled | Should -BeTrue
            $firstState.status | Should -Be 'rebooting'
            $firstState.phase | Should -Be 'reboot'
            $firstState.rebootPending | Should -BeTrue
            $taskAfterPhase1.Trigger | Should -Be 'AtStartup'
            $taskAfterPhase1.UserId | Should -Be 'NT AUTHORITY\SYSTEM'
            # Windows PowerShell 5.1, which exists on every Windows Server, whatever host ran phase 1.
            $taskAfterPhase1.Execute.Replace('/', '\') | Should -Be 'C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe'
            $taskAfterPhase1.Argument | Should -Match '-File "C:[\\/]ProgramData[\\/]wcigen[\\/]provision\.ps1" -Mode Unattended$'
            $machine.Events | Should -Contain 'shutdown /r /t 10 /c wcigen: restarting to finish provisioning'
        }
        else {
            $restartScheduled | Should -BeFalse
            $taskAfterPhase1 | Should -BeNullOrEmpty
        }
    }
    It 'the startup task finishes the work after the restart, then removes itself' {
        if ($restartScheduled) { $taskExit | Should -Be 0 -Because $machine.LastOutput }
        $finalState.status | Should -Be 'complete'
        $finalState.phase | Should -Be 'complete'
        $finalState.exitCode | Should -Be 0
        $finalState.rebootPending | Should -BeFalse
        $machine.Tasks.Keys | Should -Not -Contain 'wcigen-provision'
        @($finalState.steps | Where-Object { $_.status -notin @('done', 'skipped') }) | Should -BeNullOrEmpty
    }
    It 'Docker is installed, running and smoke-tested when the lab wants it' {
        if ($Docker) {
            $machine.Services['docker'].Status | Should -Be 'Running'
            $machine.Docker.RunCount | Should -BeGreaterThan 0
            (Get-StandInStep 'docker-smoke-test' -State $finalState).status | Should -Be 'done'
        }
        else {
            $machine.Services.Keys | Should -Not -Contain 'docker'
            $finalState.steps.name | Should -Not -Contain 'docker-install'
        }
    }
}

Describe 'Orchestrated run of <Name> (Packer)' -ForEach $labs {
    BeforeAll {
        $machine = New-StandInMachine -Lab $Path
        $firstExit = Invoke-StandInScript -Environment @{ WCIGEN_MODE = 'Orchestrated' }
        $firstState = Get-StandInState
        $restartScheduled = $machine.RestartScheduled
        if ($firstExit -eq 3010) {
            $null = Restart-StandInMachine
            $secondExit = Invoke-StandInScript -Environment @{ WCIGEN_MODE = 'Orchestrated' }
        }
        $finalState = Get-StandInState
    }
    AfterAll { Remove-StandInMachine }

    It 'exits 3010 at the reboot boundary when a feature needs a restart, without restarting by itself' {
        $restartScheduled | Should -BeFalse
        $machine.Tasks.Count | Should -Be 0
        if ($Features) {
            $firstExit | Should -Be 3010 -Because $machine.LastOutput
            $firstState.status | Should -Be 'rebooting'
        }
        else { $firstExit | Should -Be 0 -Because $machine.LastOutput }
    }
    It 'the run after the restart exits 0 with the state complete' {
        if ($Features) { $secondExit | Should -Be 0 -Because $machine.LastOutput }
        $finalState.status | Should -Be 'complete'
        $finalState.mode | Should -Be 'Orchestrated'
    }
}

Describe 'A completed machine stays completed: <Name>' -ForEach $labs {
    BeforeAll {
        $machine = New-StandInMachine -Lab $Path
        $null = Invoke-StandInScript
        if ($machine.RestartScheduled) { $null = Restart-StandInMachine }
        $before = (Get-StandInState)
        $eventsBefore = $machine.Events.Count
        $machine.Downloads.Clear()
        $pathBefore = (Get-MachinePathValue).Value
        # No network at all: a completed machine must not need it.
        Set-StandInDownload -Url '*' -Unreachable
        $rerunExit = Invoke-StandInScript
        $after = Get-StandInState
    }
    AfterAll { Remove-StandInMachine }

    It 'a re-run exits 0 and stays complete' {
        $before.status | Should -Be 'complete'
        $rerunExit | Should -Be 0 -Because $machine.LastOutput
        $after.status | Should -Be 'complete'
    }
    It 'a re-run changes nothing' {
        $machine.Events.Count | Should -Be $eventsBefore -Because ($machine.Events -join '; ')
        (Get-MachinePathValue).Value | Should -Be $pathBefore
        $machine.RestartScheduled | Should -BeFalse
        # Only checks run again: preflight, and the smoke test that proves Docker still works.
        @($after.steps | Where-Object { $_.name -notin @('preflight', 'docker-smoke-test') -and $_.status -ne 'skipped' }).name | Should -BeNullOrEmpty
    }
    It 'a re-run downloads nothing' {
        $machine.Downloads | Should -BeNullOrEmpty
    }
}

# Phase 2 as the main template runs it (Invoke-Provisioning): retried once in place when
# Unattended, failed at once when Orchestrated.
Describe 'Phase 2 retry' {
    BeforeAll { $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../..')) 'examples/lab.yaml' }
    AfterEach { Remove-StandInMachine }

    It 'a transient phase-2 failure is retried once, in place, after 60 s, and the lab completes' {
        $machine = New-StandInMachine -Lab $lab
        $machine.Docker.SmokeTestFailsFirst = 3
        Invoke-StandInScript | Should -Be 0
        $sleepsBefore = $machine.Sleeps.Count
        Restart-StandInMachine | Should -Be 0 -Because $machine.LastOutput
        $state = Get-StandInState
        $state.status | Should -Be 'complete'
        $state.lastError | Should -BeNullOrEmpty
        $state.phase2Attempt | Should -Be 2
        (Get-StandInStep 'docker-smoke-test' -State $state).status | Should -Be 'done'
        $machine.Docker.RunCount | Should -Be 4
        @($machine.Sleeps | Select-Object -Skip $sleepsBefore) | Should -Contain 60
        Get-StandInLog | Should -Match 'Phase 2 failed \(docker-smoke-test: The Docker smoke test failed.*\); running it again in 60 s \(attempt 2 of 2\)'
        # The startup task is gone after the run that completed, so nothing runs again at boot.
        $machine.Tasks.Keys | Should -Not -Contain 'wcigen-provision'
    }
    It 'an Orchestrated run (Packer) does not retry: its caller sees the failure at once' {
        $machine = New-StandInMachine -Lab $lab
        $machine.Docker.SmokeTestFailsFirst = 3
        Invoke-StandInScript -Environment @{ WCIGEN_MODE = 'Orchestrated' } | Should -Be 3010
        $null = Restart-StandInMachine
        Invoke-StandInScript -Environment @{ WCIGEN_MODE = 'Orchestrated' } | Should -Be 1
        (Get-StandInState).phase2Attempt | Should -Be 1
        $machine.Docker.RunCount | Should -Be 3
    }
}

# The main template's last word (its finally block): what state.json says after a failure.
Describe 'A failed run' {
    BeforeAll { $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../..')) 'examples/lab.yaml' }
    AfterEach { Remove-StandInMachine }

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
