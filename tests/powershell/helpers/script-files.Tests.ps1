# The script's own files (templates/powershell/helpers/script-files.ps1.j2):
# Copy-ScriptToStableLocation (the copy the startup task runs) and Read-JsonFile.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../../..')) 'examples/lab.yaml'
    $stable = 'C:\ProgramData\wcigen\provision.ps1'
}
AfterAll { Stop-StandInServer }

Describe 'The script''s own files' {
    AfterEach { Remove-StandInMachine }

    It 'keeps a byte-identical copy of itself in C:\ProgramData\wcigen\provision.ps1' {
        $machine = New-StandInMachine -Lab $lab
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $copy = [IO.File]::ReadAllBytes((Get-StandInPath $stable))
        $original = [IO.File]::ReadAllBytes($machine.Script)
        $copy.Length | Should -Be $original.Length
        [Convert]::ToBase64String($copy) | Should -BeExactly ([Convert]::ToBase64String($original))
        Get-StandInLog | Should -Match 'Copied this script to C:.ProgramData.wcigen.provision\.ps1'
    }
    It 'ignores, with a warning, a state.json that is not JSON, and provisions all the same' {
        $machine = New-StandInMachine -Lab $lab
        New-StandInFile -Path 'C:\ProgramData\wcigen\state.json' -Content '{"status": "rebooting", "restarts": '
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        Get-StandInLog | Should -Match '\[WARN\] Ignoring unreadable JSON file C:.ProgramData.wcigen.state\.json'
        $state = Get-StandInState
        $state.status | Should -Be 'rebooting'
        $state.restarts | Should -Be 0
    }
}
