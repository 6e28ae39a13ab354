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
    It 'a docker service that never runs fails docker-service, naming it' {
        $machine = New-StandInMachine -Lab $lab
        $machine.Docker.StartFails = $true
        Invoke-StandInScript | Should -Be 0
        Restart-StandInMachine | Should -Be 1
        $state = Get-StandInState
        $state.status | Should -Be 'failed'
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
        $machine.Docker.RunCount | Should -Be 3
    }
}
