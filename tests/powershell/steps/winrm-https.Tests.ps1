# Step winrm-https (templates/powershell/steps/winrm-https.ps1.j2): Enable-WinRmHttps.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../../..')
}
AfterAll { Stop-StandInServer }

Describe 'WinRM over HTTPS (bare example)' {
    AfterEach { Remove-StandInMachine }
    It 'creates the HTTPS listener with a certificate for the computer and opens TCP 5986 on every profile' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/bare.yaml')
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        @($machine.WinRmListeners).Count | Should -Be 1
        $machine.WinRmListeners[0].Transport | Should -Be 'HTTPS'
        $machine.WinRmListeners[0].Thumbprint | Should -Be $machine.Certificates[0].Thumbprint
        $machine.Certificates[0].Subject | Should -Be 'CN=WCI-STANDIN'
        $rule = $machine.FirewallRules['wcigen-WinRM-HTTPS-In-TCP']
        $rule.Profile | Should -Be 'Any'
        $rule.LocalPort | Should -Be @('5986')
    }
    It 'keeps an existing listener and its valid certificate on a re-run' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/bare.yaml')
        Invoke-StandInScript | Should -Be 0
        $thumbprint = $machine.WinRmListeners[0].Thumbprint
        Invoke-StandInScript | Should -Be 0
        @($machine.WinRmListeners).Count | Should -Be 1
        $machine.WinRmListeners[0].Thumbprint | Should -Be $thumbprint
        (Get-StandInStep 'winrm-https').status | Should -Be 'skipped'
    }
}
