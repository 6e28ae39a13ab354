# The ready step's waiting script (the Run Command every IaC target ends with), taken from the
# rendered ARM template as Azure receives it, against a state.json that completes, fails or
# never finishes. The stand-in's clock is virtual: Start-Sleep advances it without waiting.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../..')) 'examples/lab.yaml'
    $statePath = 'C:\ProgramData\wcigen\state.json'
}
AfterAll { Stop-StandInServer }

Describe 'The ready step' {
    AfterEach { Remove-StandInMachine }

    It 'waits across the restart and succeeds once state.json says complete' {
        $machine = New-StandInMachine -Lab $lab
        $ready = Get-StandInReadyScript
        Invoke-StandInScript | Should -Be 0
        (Get-StandInState).status | Should -Be 'rebooting'
        # Provision for real once to get the complete state, then replay the wait from before it.
        $rebooting = Get-Content -Raw -LiteralPath (Get-StandInPath $statePath)
        Restart-StandInMachine | Should -Be 0 -Because $machine.LastOutput
        $complete = Get-Content -Raw -LiteralPath (Get-StandInPath $statePath)
        New-StandInFile -Path $statePath -Content $rebooting
        $before = $machine.Sleeps.Count
        $native = Get-StandInPath $statePath
        $machine.OnSleep = { if ($machine.Sleeps.Count - $before -eq 3) { [IO.File]::WriteAllText($native, $complete) } }.GetNewClosure()
        Invoke-StandInScript -Path $ready | Should -Be 0 -Because $machine.LastOutput
        $machine.LastOutput | Should -Match 'wcigen: the lab wci is ready \(provisioned; '
        @($machine.Sleeps | Select-Object -Skip $before) | Should -Be @(15, 15, 15)
    }
    It 'fails at once when provisioning failed, naming the failed step and the log''s last lines' {
        $machine = New-StandInMachine -Lab $lab
        $machine.Docker.StartFails = $true
        Invoke-StandInScript | Should -Be 0
        Restart-StandInMachine | Should -Be 1
        $ready = Get-StandInReadyScript
        $before = $machine.Sleeps.Count
        Invoke-StandInScript -Path $ready | Should -Be 1
        $machine.LastOutput | Should -Match 'wcigen: the lab is NOT ready: provisioning failed at step docker-service: The docker daemon does not answer after 6 start attempts'
        $machine.LastOutput | Should -Match 'Last 15 lines of C:.ProgramData.wcigen.provision\.log:'
        # The log ends with the run's summary: every step with its outcome.
        $machine.LastOutput | Should -Match 'failed\s+docker-service\s+The docker daemon does not answer'
        $machine.Sleeps.Count | Should -Be $before
    }
    It 'fails after its 60-minute bound when provisioning never finishes, naming the step it waits for' {
        $machine = New-StandInMachine -Lab $lab
        Invoke-StandInScript | Should -Be 0
        # The restart never happens: state.json stays 'rebooting'.
        $ready = Get-StandInReadyScript
        $start = $machine.Clock
        Invoke-StandInScript -Path $ready | Should -Be 1
        $machine.LastOutput | Should -Match 'NOT ready: provisioning did not finish within 60 minutes \(status rebooting, step docker-install\)'
        $machine.LastOutput | Should -Match 'Restart scheduled in 10 s'
        ($machine.Clock - $start).TotalMinutes | Should -BeGreaterOrEqual 60
        ($machine.Clock - $start).TotalMinutes | Should -BeLessThan 61
    }
    It 'without any state.json waits for it, then fails naming the missing state' {
        $machine = New-StandInMachine -Lab $lab
        $ready = Get-StandInReadyScript
        Invoke-StandInScript -Path $ready | Should -Be 1
        $machine.LastOutput | Should -Match 'did not finish within 60 minutes \(status missing, step \(none started\)\)'
        $machine.LastOutput | Should -Match '\(no log at C:.ProgramData.wcigen.provision\.log\)'
    }
    It 'refuses the state of another lab' {
        $machine = New-StandInMachine -Lab $lab
        New-StandInFile -Path $statePath -Content '{"lab":"other","status":"complete","steps":[]}'
        Invoke-StandInScript -Path (Get-StandInReadyScript) | Should -Be 1
        $machine.LastOutput | Should -Match 'state\.json belongs to lab other, not to this lab \(wci\)'
    }
    It 'keeps every reported log line short (the Run Command keeps only the last 4 KB)' {
        $machine = New-StandInMachine -Lab $lab
        New-StandInFile -Path $statePath -Content '{"lab":"wci","status":"failed","lastError":"x: boom","steps":[{"name":"x","status":"failed"}]}'
        New-StandInFile -Path 'C:\ProgramData\wcigen\provision.log' -Content ((1..40 | ForEach-Object { ('line {0} ' -f $_) + ('y' * 500) }) -join "`n")
        Invoke-StandInScript -Path (Get-StandInReadyScript) | Should -Be 1
        $machine.LastOutput | Should -Match 'failed at step x: boom'
        $machine.LastOutput | Should -Match 'line 40 y{190}'
        $machine.LastOutput | Should -Not -Match 'line 25 '
        $machine.LastOutput | Should -Not -Match 'y{201}'
    }
}

Describe 'The ready step of a VM started from the baked image' {
    BeforeAll { $baked = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../..')) 'examples/baked.yaml' }
    AfterEach { Remove-StandInMachine }

    It 'succeeds at once on a complete bake whose docker service runs' {
        $machine = New-StandInMachine -Lab $baked
        $ready = Get-StandInReadyScript
        Get-Content -Raw -LiteralPath $ready | Should -Match '\$Baked = \$true'
        # The bake: Packer's Orchestrated runs with a restart between them.
        Invoke-StandInScript -Environment @{ WCIGEN_MODE = 'Orchestrated' } | Should -Be 3010
        $null = Restart-StandInMachine
        Invoke-StandInScript -Environment @{ WCIGEN_MODE = 'Orchestrated' } | Should -Be 0 -Because $machine.LastOutput
        $before = $machine.Sleeps.Count
        Invoke-StandInScript -Path $ready | Should -Be 0 -Because $machine.LastOutput
        $machine.LastOutput | Should -Match 'the lab wci is ready \(baked into the image; '
        $machine.Sleeps.Count | Should -Be $before
    }
    It 'waits for the docker service, and fails after its bound when it never runs' {
        $machine = New-StandInMachine -Lab $baked
        Invoke-StandInScript -Environment @{ WCIGEN_MODE = 'Orchestrated' } | Should -Be 3010
        $null = Restart-StandInMachine
        Invoke-StandInScript -Environment @{ WCIGEN_MODE = 'Orchestrated' } | Should -Be 0
        $machine.Services['docker'].Status = 'Stopped'
        $start = $machine.Clock
        Invoke-StandInScript -Path (Get-StandInReadyScript) | Should -Be 1
        $machine.LastOutput | Should -Match 'NOT ready: the image was baked, but the docker service is not running after 60 minutes'
        ($machine.Clock - $start).TotalMinutes | Should -BeGreaterOrEqual 60
    }
    It 'fails at once on an image that holds no complete bake' {
        $machine = New-StandInMachine -Lab $baked
        Invoke-StandInScript -Path (Get-StandInReadyScript) | Should -Be 1
        $machine.LastOutput | Should -Match 'NOT ready: the image was not baked by a complete wcigen run \(state\.json: missing\)'
        $machine.Sleeps.Count | Should -Be 0
    }
}
