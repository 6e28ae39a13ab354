# The run's bookkeeping (templates/powershell/helpers/run-state.ps1.j2): Initialize-State (the
# restart count across runs) and Add-ProvisioningPlan (every step the lab needs, planned up front).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../../..')
    $lab = Join-Path $repo 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'Re-runs before the restart' {
    AfterAll { Remove-StandInMachine }
    It 'are not counted as restarts: four runs, then one restart, finish the lab' {
        $machine = New-StandInMachine -Lab $lab
        foreach ($run in 1..4) { Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput }
        (Get-StandInState).restarts | Should -Be 0
        Restart-StandInMachine | Should -Be 0 -Because $machine.LastOutput
        $machine.Restarts | Should -Be 1
        (Get-StandInState).status | Should -Be 'complete'
    }
}

Describe 'The plan' {
    AfterEach { Remove-StandInMachine }
    It 'lists every step the lab needs, in order and by phase, before the first one runs' {
        $machine = New-StandInMachine -Lab $lab
        # The first step fails at once: what state.json holds is the plan, not what ran.
        $machine.NotWindowsServer = $true
        Invoke-StandInScript | Should -Be 1
        $state = Get-StandInState
        @($state.steps | ForEach-Object { '{0}/{1}' -f $_.phase, $_.name }) | Should -Be @(
            'phase1/preflight', 'phase1/openssh-server', 'phase1/feature:Containers',
            'phase1/tool:sysinternals', 'phase1/tool:pavel_tools', 'phase1/tool:windbg', 'reboot/reboot',
            'phase2/docker-install', 'phase2/docker-service', 'phase2/docker-smoke-test')
        @($state.steps | Where-Object { $_.name -ne 'preflight' -and $_.status -ne 'pending' }) | Should -BeNullOrEmpty
    }
    It 'plans no Docker steps and no reboot work for a lab without them (bare example)' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/bare.yaml')
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $state = Get-StandInState
        @($state.steps.name) | Should -Be @('preflight', 'winrm-https', 'reboot')
        (Get-StandInStep 'reboot' -State $state).status | Should -Be 'skipped'
    }
}
