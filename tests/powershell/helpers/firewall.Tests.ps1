# Firewall rules and listeners (templates/powershell/helpers/firewall.ps1.j2): Set-InboundTcpRule,
# Test-InboundTcpRule and Wait-TcpListener, through the winrm-https step (bare example).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../../..')) 'examples/bare.yaml'
    $rule = 'wcigen-WinRM-HTTPS-In-TCP'
}
AfterAll { Stop-StandInServer }

Describe 'Inbound rules' {
    AfterEach { Remove-StandInMachine }

    It 'widens a rule left disabled, on one profile and another port, to TCP 5986 from every profile' {
        $machine = New-StandInMachine -Lab $lab
        $machine.FirewallRules[$rule] = @{ Enabled = 'False'; Direction = 'Inbound'; Action = 'Allow'; Profile = 'Private'; Protocol = 'TCP'; LocalPort = @('5985') }
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $machine.FirewallRules[$rule].Enabled | Should -Be 'True'
        $machine.FirewallRules[$rule].Profile | Should -Be 'Any'
        $machine.FirewallRules[$rule].LocalPort | Should -Be @('5986')
        Get-StandInLog | Should -Match "Set the firewall rule $rule to allow TCP 5986 from every profile"
    }
    It 'leaves alone a rule that already allows TCP 5986 on Domain, Private and Public' {
        $machine = New-StandInMachine -Lab $lab
        $machine.FirewallRules[$rule] = @{ Enabled = 'True'; Direction = 'Inbound'; Action = 'Allow'; Profile = 'Domain, Private, Public'; Protocol = 'TCP'; LocalPort = @('5986') }
        Invoke-StandInScript | Should -Be 0 -Because $machine.LastOutput
        $machine.FirewallRules[$rule].Profile | Should -Be 'Domain, Private, Public'
        Get-StandInLog | Should -Not -Match "(Set|Created) the firewall rule $rule"
    }
    It 'fails the step, naming the port, when nothing listens on it within 60 s' {
        $machine = New-StandInMachine -Lab $lab
        $machine.NotListening = @(5986)
        Invoke-StandInScript | Should -Be 1
        $state = Get-StandInState
        (Get-StandInStep 'winrm-https' -State $state).status | Should -Be 'failed'
        $state.lastError | Should -Match '^winrm-https: Nothing listens on TCP port 5986 after 60 s'
        # Polled every 2 s on the (virtual) clock until the deadline.
        @($machine.Sleeps | Where-Object { $_ -eq 2 }).Count | Should -BeGreaterOrEqual 29
    }
}
