# The whole run, as the IaC targets (Unattended) and Packer (Orchestrated) drive it, and a re-run
# of a completed machine. Step partials: templates/powershell/provision.ps1.j2 (Invoke-Provisioning).
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
            $machine.Events | Should -Contain 'shutdown /r /t 60 /c wcigen: restarting to finish provisioning'
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
