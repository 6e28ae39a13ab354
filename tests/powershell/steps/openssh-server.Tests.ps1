# Step openssh-server (templates/powershell/steps/openssh-server.ps1.j2): Install-OpenSshServer.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../../..')
}
AfterAll { Stop-StandInServer }

Describe 'OpenSSH server' {
    AfterEach { Remove-StandInMachine }
    It 'adds the capability, starts sshd automatically and opens TCP 22 on every profile' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/lab.yaml')
        Invoke-StandInScript | Should -Be 0
        $machine.Capabilities['OpenSSH.Server~~~~0.0.1.0'] | Should -Be 'Installed'
        $machine.Services['sshd'].StartType | Should -Be 'Automatic'
        $machine.Services['sshd'].Status | Should -Be 'Running'
        $rule = $machine.FirewallRules['OpenSSH-Server-In-TCP']
        # The capability made it for the Private profile; an Azure VM's network is Public.
        $rule.Profile | Should -Be 'Any'
        $rule.Enabled | Should -Be 'True'
        $rule.Action | Should -Be 'Allow'
        $rule.Direction | Should -Be 'Inbound'
        $rule.LocalPort | Should -Be @('22')
    }
    It 'repairs a rule an earlier install left disabled and on another port' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/lab.yaml')
        $machine.Capabilities['OpenSSH.Server~~~~0.0.1.0'] = 'Installed'
        $machine.Services['sshd'] = @{ Status = 'Running'; StartType = 'Automatic' }
        $machine.FirewallRules['OpenSSH-Server-In-TCP'] = @{ Enabled = 'False'; Direction = 'Inbound'; Action = 'Allow'; Profile = 'Domain'; Protocol = 'TCP'; LocalPort = @('2222') }
        Invoke-StandInScript | Should -Be 0
        $rule = $machine.FirewallRules['OpenSSH-Server-In-TCP']
        $rule.Enabled | Should -Be 'True'
        $rule.Profile | Should -Be 'Any'
        $rule.LocalPort | Should -Be @('22')
        (Get-StandInStep 'openssh-server').status | Should -Be 'done'
    }
    It 'fails the step, naming it, when sshd never listens' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/lab.yaml')
        $machine.Capabilities['OpenSSH.Server~~~~0.0.1.0'] = 'Installed'
        $machine.Services['sshd'] = @{ Status = 'Running'; StartType = 'Automatic' }
        $machine.NotListening = @(22)
        Invoke-StandInScript | Should -Be 1
        $state = Get-StandInState
        $state.status | Should -Be 'failed'
        (Get-StandInStep 'openssh-server' -State $state).status | Should -Be 'failed'
        $state.lastError | Should -Match '^openssh-server: Nothing listens on TCP port 22'
        Get-StandInLog | Should -Match 'Step openssh-server: failed'
    }
}
