# Folders and ACLs (templates/powershell/helpers/paths.ps1.j2): Set-AdminOnlyAcl on the state
# and tool folders, and work folders that do not outlive the run.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../../..')) 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'Folders of a run' {
    BeforeAll {
        $machine = New-StandInMachine -Lab $lab
        $exit = Invoke-StandInScript
    }
    AfterAll { Remove-StandInMachine }

    It 'makes the tools folder and the state folder writable by administrators only' {
        $exit | Should -Be 0 -Because $machine.LastOutput
        $expected = 'D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)'
        $machine.Acls[(Get-StandInPath 'C:\bin')].Sddl | Should -Be $expected
        $machine.Acls[(Get-StandInPath 'C:\ProgramData\wcigen')].Sddl | Should -Be $expected
        $machine.Acls[(Get-StandInPath 'C:\ProgramData\wcigen')].Sections | Should -Be 'Access'
    }
    It 'leaves no work folder behind (the downloads went through it)' {
        $machine.Downloads | Should -Not -BeNullOrEmpty
        Test-Path -LiteralPath (Get-StandInPath 'C:\ProgramData\wcigen\work') | Should -BeFalse
    }
}
