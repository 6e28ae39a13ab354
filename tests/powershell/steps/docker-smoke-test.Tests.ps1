# Step docker-smoke-test (templates/powershell/steps/docker-smoke-test.ps1.j2): Invoke-DockerSmokeTest.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../../..')) 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'The Docker smoke test' {
    AfterEach { Remove-StandInMachine }

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
}
