# Step docker-service (templates/powershell/steps/docker-service.ps1.j2): Start-DockerEngine.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../../..')) 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'The docker service' {
    AfterEach { Remove-StandInMachine }

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
}
