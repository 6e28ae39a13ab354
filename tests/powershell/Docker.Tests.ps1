# Docker CE install, its service and the smoke test (phase 2).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../..')) 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'Docker' {
    AfterEach { Remove-StandInMachine }

    It 'runs the verified installer with the lab''s version in Windows PowerShell 5.1, then checks dockerd' {
        $machine = New-StandInMachine -Lab $lab
        Invoke-StandInScript | Should -Be 0
        Restart-StandInMachine | Should -Be 0 -Because $machine.LastOutput
        $machine.Events | Should -Contain 'powershell.exe -Command'
        # The child powershell.exe set TLS 1.2 itself (the parent's setting does not reach it).
        $machine.ChildTls | Should -Match 'Tls12'
        $machine.Events | Should -Contain 'docker-installed:25.0.4'
        (Get-StandInStep 'docker-install').message | Should -Be 'Docker 25.0.4 installed'
        # The installer's download folder in the running account's profile is gone.
        Test-Path -LiteralPath (Get-StandInPath 'C:\Users\wcigen\DockerDownloads') | Should -BeFalse
    }
    It 'a docker service that never runs fails docker-service, naming it, after phase 2 ran twice' {
        $machine = New-StandInMachine -Lab $lab
        $machine.Docker.StartFails = $true
        Invoke-StandInScript | Should -Be 0
        Restart-StandInMachine | Should -Be 1
        $state = Get-StandInState
        $state.status | Should -Be 'failed'
        $state.phase2Attempt | Should -Be 2
        Get-StandInLog | Should -Match 'Phase 2 failed \(docker-service: The docker daemon does not answer after 6 start attempts.*\); running it again in 60 s \(attempt 2 of 2\)'
        (Get-StandInStep 'docker-service' -State $state).status | Should -Be 'failed'
        $state.lastError | Should -Match '^docker-service: The docker daemon does not answer after 6 start attempts'
        (Get-StandInStep 'docker-smoke-test' -State $state).status | Should -Be 'pending'
        Get-StandInLog | Should -Match 'Step docker-service: failed'
    }
    It 'a failing smoke test fails docker-smoke-test after its retries' {
        $machine = New-StandInMachine -Lab $lab
        $machine.Docker.SmokeTestPasses = $false
        Invoke-StandInScript | Should -Be 0
        Restart-StandInMachine | Should -Be 1
        $state = Get-StandInState
        (Get-StandInStep 'docker-smoke-test' -State $state).status | Should -Be 'failed'
        $state.lastError | Should -Match '^docker-smoke-test: The Docker smoke test failed'
        # Three tries in each of the two phase-2 attempts.
        $machine.Docker.RunCount | Should -Be 6
        $state.phase2Attempt | Should -Be 2
    }
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
