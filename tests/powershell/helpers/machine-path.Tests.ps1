# The machine PATH (templates/powershell/helpers/machine-path.ps1.j2): Add-MachinePath keeps the
# value REG_EXPAND_SZ and adds a folder once.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../../..')) 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'The machine PATH' {
    AfterEach { Remove-StandInMachine }

    It 'appends the tool folders to the machine PATH and keeps it REG_EXPAND_SZ with its variables' {
        $machine = New-StandInMachine -Lab $lab
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $path = Get-MachinePathValue
        $path.Kind | Should -Be 'ExpandString'
        $path.Value | Should -BeLike '%SystemRoot%\system32;*;C:\bin\sysinternals;C:\bin\pavel_tools'
    }
    It 'does not add a folder that is already there, whatever its case or trailing backslash' {
        $machine = New-StandInMachine -Lab $lab
        $path = Get-MachinePathValue
        $path.Value = $path.Value + ';C:\BIN\SysInternals\;'
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $value = (Get-MachinePathValue).Value
        @($value.Split(';') | Where-Object { $_.TrimEnd('\') -eq 'C:\bin\sysinternals' }).Count | Should -Be 1
        $value | Should -BeLike '*;C:\BIN\SysInternals\;C:\bin\pavel_tools'
        Get-StandInLog | Should -Match 'Already on the machine PATH: C:\\bin\\sysinternals'
    }
}
