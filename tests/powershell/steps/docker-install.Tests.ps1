# Step docker-install (templates/powershell/steps/docker-install.ps1.j2): Install-DockerEngine.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../../..')) 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'Docker install' {
    AfterEach { Remove-StandInMachine }

    It 'runs the verified installer with the lab''s version in Windows PowerShell 5.1, then checks dockerd' {
        $machine = New-StandInMachine -Lab $lab
        Invoke-StandInScript | Should -Be 0
        Restart-StandInMachine | Should -Be 0 -Because $machine.LastOutput
        $machine.Events | Should -Contain 'powershell.exe -Command'
        # The child powershell.exe set TLS 1.2 itself (the parent's setting does not reach it).
        $machine.ChildTls | Should -Match 'Tls12'
        $machine.Events | Should -Contain 'docker-installed:25.0.4'
        (Get-StandInStep 'docker-install').message | Should -Be 'Docker 25.0.4 installed'
        # The installer's download folder in the running account's profile is gone.
        Test-Path -LiteralPath (Get-StandInPath 'C:\Users\wcigen\DockerDownloads') | Should -BeFalse
    }
}
