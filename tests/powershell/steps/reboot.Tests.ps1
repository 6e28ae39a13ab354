# Step reboot (templates/powershell/steps/reboot.ps1.j2): Invoke-RebootBoundary and its restart-loop guard.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../../..')) 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'Restart-loop guard' {
    AfterAll { Remove-StandInMachine }
    It 'gives up after 3 restarts that did not finish the feature, naming the reboot step' {
        $machine = New-StandInMachine -Lab $lab
        $machine.FeatureNeverCompletes = $true
        Invoke-StandInScript | Should -Be 0
        $codes = @()
        for ($i = 0; $i -lt 5 -and $machine.RestartScheduled; $i++) { $codes += Restart-StandInMachine }
        $machine.Restarts | Should -Be 3
        $codes | Should -Be @(0, 0, 1)
        $state = Get-StandInState
        $state.status | Should -Be 'failed'
        $state.lastError | Should -Match '^reboot: A restart is still needed after 3 restarts \(step reboot, phase1\)'
        $machine.Tasks.Keys | Should -Not -Contain 'wcigen-provision'
    }
}
