# Step preflight (templates/powershell/steps/preflight.ps1.j2): Test-Preflight checks the machine
# and the script's own data before anything changes.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../../..')
    $lab = Join-Path $repo 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'Preflight' {
    AfterEach { Remove-StandInMachine }

    It 'stops a lab with Windows features on a Windows without Install-WindowsFeature, changing nothing' {
        $machine = New-StandInMachine -Lab $lab
        $machine.NotWindowsServer = $true
        Invoke-StandInScript | Should -Be 1
        $state = Get-StandInState
        $state.lastError | Should -Match '^preflight: Install-WindowsFeature is not available: this script needs Windows Server'
        @($state.steps | Where-Object { $_.name -ne 'preflight' -and $_.status -ne 'pending' }) | Should -BeNullOrEmpty
        $machine.Capabilities['OpenSSH.Server~~~~0.0.1.0'] | Should -Be 'NotPresent'
        $machine.Downloads | Should -BeNullOrEmpty
    }
    It 'a lab without features or Docker does not need Server Manager (bare example)' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/bare.yaml')
        $machine.NotWindowsServer = $true
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        (Get-StandInStep 'preflight').status | Should -Be 'done'
    }
    It 'refuses a script whose data section was edited to download over http, before any download' {
        $machine = New-StandInMachine -Lab $lab
        $text = [IO.File]::ReadAllText($machine.Script)
        $edited = $text.Replace("'https://download.sysinternals.com/", "'http://download.sysinternals.com/")
        $edited | Should -Not -Be $text
        [IO.File]::WriteAllText($machine.Script, $edited, (New-Object System.Text.UTF8Encoding($true)))
        Invoke-StandInScript | Should -Be 1
        (Get-StandInState).lastError | Should -Match '^preflight: Refusing to download from a URL that is not an absolute https:// URL: http://download\.sysinternals\.com/'
        $machine.Downloads | Should -BeNullOrEmpty
    }
}
