# Downloads (templates/powershell/helpers/download.ps1.j2): https only, SHA-256, retries with
# back-off, permanent HTTP errors, URLs logged without their query.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../../..')
    $lab = Join-Path $repo 'examples/lab.yaml'
    $sysinternals = 'https://download.sysinternals.com/files/SysinternalsSuite.zip'
}
AfterAll { Stop-StandInServer }

Describe 'Download failures' {
    AfterEach { Remove-StandInMachine }

    It 'a hash mismatch deletes the file and fails the step, naming it' {
        $machine = New-StandInMachine -Lab (Join-Path $repo 'examples/lab.yaml')
        Set-StandInDownload -Url 'https://raw.githubusercontent.com/microsoft/Windows-Containers/86af3b6b0f9e6928c3888d29fb601596a3211f60/helpful_tools/Install-DockerCE/install-docker-ce.ps1' -Alternate 'unsigned.zip'
        Invoke-StandInScript | Should -Be 0
        Restart-StandInMachine | Should -Be 1
        $state = Get-StandInState
        $state.status | Should -Be 'failed'
        (Get-StandInStep 'docker-install' -State $state).status | Should -Be 'failed'
        $state.lastError | Should -Match '^docker-install: SHA-256 verification failed for https://raw\.githubusercontent\.com/'
        Test-Path -LiteralPath (Get-StandInPath 'C:\ProgramData\wcigen\install-docker-ce.ps1') | Should -BeFalse
        $machine.Services.Keys | Should -Not -Contain 'docker'
    }
    It 'a download that keeps failing is retried, then fails the step with its URL' {
        $machine = New-StandInMachine -Lab $lab
        Set-StandInDownload -Url $sysinternals -Status 503
        Invoke-StandInScript | Should -Be 1
        $state = Get-StandInState
        (Get-StandInStep 'tool:sysinternals' -State $state).status | Should -Be 'failed'
        $state.lastError | Should -Match ('^tool:sysinternals: Download of ' + [regex]::Escape($sysinternals) + ' failed \(after 5 attempts\)')
        $machine.Sleeps | Should -Be @(5, 10, 20, 40)
        @($machine.Downloads | Where-Object { $_ -eq $sysinternals }).Count | Should -Be 5
        Get-StandInLog | Should -Match ([regex]::Escape("Downloading $sysinternals (attempt 5 of 5)"))
        # Nothing after the failed step ran.
        (Get-StandInStep 'tool:pavel_tools' -State $state).status | Should -Be 'pending'
    }
    It 'a permanent HTTP error (404) is not retried and the failure names the URL without its query' {
        $machine = New-StandInMachine -Lab $lab
        Set-StandInDownload -Url $sysinternals -Status 404
        Invoke-StandInScript | Should -Be 1
        @($machine.Downloads | Where-Object { $_ -eq $sysinternals }).Count | Should -Be 1
        $machine.Sleeps | Should -BeNullOrEmpty
        (Get-StandInState).lastError | Should -Match ('^tool:sysinternals: Download of ' + [regex]::Escape($sysinternals) + ' failed \(HTTP 404, not retried\)')
    }
}
