# The continuation across a restart (templates/powershell/steps/continuation.ps1.j2):
# Register-Continuation and Unregister-Continuation, the startup task wcigen-provision.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../../..')
}
AfterAll { Stop-StandInServer }

Describe 'The startup task' {
    AfterEach { Remove-StandInMachine }

    It 'runs the kept copy after the restart, even when the file first run is gone' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/lab.yaml')
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $machine.Tasks['wcigen-provision'].Delay | Should -Be 'PT30S'
        Remove-Item -LiteralPath $machine.Script
        Restart-StandInMachine | Should -Be 0 -Because $machine.LastOutput
        (Get-StandInState).status | Should -Be 'complete'
        $machine.Tasks.Keys | Should -Not -Contain 'wcigen-provision'
    }
    It 'a task left by an earlier run is removed by a run that needs no restart' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/bare.yaml')
        $machine.Tasks['wcigen-provision'] = @{ Execute = 'powershell.exe'; Argument = '-File old.ps1'; Trigger = 'AtStartup'; UserId = 'NT AUTHORITY\SYSTEM'; LastResult = $null }
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $machine.Tasks.Keys | Should -Not -Contain 'wcigen-provision'
        Get-StandInLog | Should -Match 'Removed the startup task wcigen-provision'
    }
}
