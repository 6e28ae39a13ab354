# The run lock: a named mutex (Global\wcigen-provision). The holder is another thread of this
# process: .NET named mutexes are owned by threads, as on Windows.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../..')) 'examples/lab.yaml'

    function Start-LockHolder {
        $holder = [powershell]::Create()
        $null = $holder.AddScript({
                $mutex = [System.Threading.Mutex]::new($false, 'Global\wcigen-provision')
                $null = $mutex.WaitOne()
                Start-Sleep -Milliseconds 1500
                $mutex.ReleaseMutex()
            })
        $handle = $holder.BeginInvoke()
        Start-Sleep -Milliseconds 300
        return [pscustomobject]@{ PowerShell = $holder; Handle = $handle }
    }
}
AfterAll { Stop-StandInServer }

Describe 'Two runs at once' {
    AfterEach { Remove-StandInMachine }
    It 'the second run does not provision while another holds the lock, and leaves a line in the log' {
        $machine = New-StandInMachine -Lab $lab
        $holder = Start-LockHolder
        try {
            $exit = Invoke-StandInScript
        }
        finally {
            $null = $holder.PowerShell.EndInvoke($holder.Handle)
            $holder.PowerShell.Dispose()
        }
        $exit | Should -Be 1
        Get-StandInLog | Should -Match 'Another wcigen provisioning run is in progress'
        $machine.Events | Should -BeNullOrEmpty
        Get-StandInState | Should -BeNullOrEmpty
    }
}
