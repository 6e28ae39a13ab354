# Two runs at once, a scenario: the main flow takes the run lock, a named mutex
# (Global\wcigen-provision), through Wait-RunLock (templates/powershell/helpers/run-lock.ps1.j2).
# The holder is another thread of this process: .NET named mutexes are owned by threads, as on
# Windows.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../..')) 'examples/lab.yaml'

    # Holds the run lock on another thread for 1.5 s; returns once the lock is held (a signal,
    # not a guess at how long the thread takes to start).
    function Start-LockHolder {
        $held = [System.Threading.ManualResetEventSlim]::new($false)
        $holder = [powershell]::Create()
        $null = $holder.AddScript({
                param($held)
                $mutex = [System.Threading.Mutex]::new($false, 'Global\wcigen-provision')
                $null = $mutex.WaitOne()
                $held.Set()
                Start-Sleep -Milliseconds 1500
                $mutex.ReleaseMutex()
            }).AddArgument($held)
        $handle = $holder.BeginInvoke()
        if (-not $held.Wait([TimeSpan]::FromSeconds(30))) { throw 'The lock holder did not take the lock' }
        return [pscustomobject]@{ PowerShell = $holder; Handle = $handle }
    }
}
AfterAll { Stop-StandInServer }

Describe 'Two runs at once' {
    AfterEach { Remove-StandInMachine }
    It 'the second run waits for the holder, says so in the log, then checks the machine and succeeds' {
        $machine = New-StandInMachine -Lab $lab
        $holder = Start-LockHolder
        try {
            $exit = Invoke-StandInScript
        }
        finally {
            $null = $holder.PowerShell.EndInvoke($holder.Handle)
            $holder.PowerShell.Dispose()
        }
        $exit | Should -Be 0 -Because $machine.LastOutput
        $log = Get-StandInLog
        $log | Should -Match 'Another wcigen provisioning run holds the lock; waiting for it \(at most 180 minutes\)'
        $log | Should -Match 'Waited \d+ s for the other provisioning run; checking the machine again'
        (Get-StandInState).status | Should -Be 'rebooting'
    }
    It 'a second run after the holder completed everything exits 0 and changes nothing' {
        $machine = New-StandInMachine -Lab $lab
        $null = Invoke-StandInScript
        $null = Restart-StandInMachine
        (Get-StandInState).status | Should -Be 'complete'
        $events = $machine.Events.Count
        $holder = Start-LockHolder
        try { $exit = Invoke-StandInScript }
        finally { $null = $holder.PowerShell.EndInvoke($holder.Handle); $holder.PowerShell.Dispose() }
        $exit | Should -Be 0 -Because $machine.LastOutput
        (Get-StandInState).status | Should -Be 'complete'
        $machine.Events.Count | Should -Be $events
    }
}
