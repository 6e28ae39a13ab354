# Step feature:<name> (templates/powershell/steps/feature.ps1.j2): Install-LabFeature.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../../..')
}
AfterAll { Stop-StandInServer }

Describe 'Windows features' {
    AfterEach { Remove-StandInMachine }
    It 'installs Containers once and asks for the restart the feature needs' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/lab.yaml')
        Invoke-StandInScript | Should -Be 0
        $machine.Features['Containers'] | Should -Be 'InstallPending'
        @($machine.Events | Where-Object { $_ -eq 'feature-installed:Containers' }).Count | Should -Be 1
        $step = Get-StandInStep 'feature:Containers'
        $step.status | Should -Be 'done'
        $step.message | Should -Match 'restart is needed'
    }
    It 'installs Hyper-V beside Containers (trusted-launch example)' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/trusted-launch.yaml')
        Invoke-StandInScript | Should -Be 0
        $machine.Features['Hyper-V'] | Should -Be 'InstallPending'
        $machine.Features['Containers'] | Should -Be 'InstallPending'
    }
}
