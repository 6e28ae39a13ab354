# Windows features, the OpenSSH server and the WinRM HTTPS listener (phase 1).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'StandIn/WindowsStandIn.psm1') -Force
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../..')
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
