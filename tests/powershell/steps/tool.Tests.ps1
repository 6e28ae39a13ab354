# Step tool:<name> (templates/powershell/steps/tool.ps1.j2): Install-LabTool hands each tool to
# the installer of its kind (steps/tool-zip, steps/tool-appinstaller).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../StandIn/WindowsStandIn.psm1') -Force
    $lab = Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../../..')) 'examples/lab.yaml'
}
AfterAll { Stop-StandInServer }

Describe 'One step per tool, by its kind' {
    BeforeAll {
        $machine = New-StandInMachine -Lab $lab
        $exit = Invoke-StandInScript
        $state = Get-StandInState
    }
    AfterAll { Remove-StandInMachine }

    It 'runs one tool step (tool:NAME) per tool, in the lab''s order' {
        $exit | Should -Be 0 -Because $machine.LastOutput
        @($state.steps.name | Where-Object { $_ -like 'tool:*' }) | Should -Be @('tool:sysinternals', 'tool:pavel_tools', 'tool:windbg')
        @($state.steps | Where-Object { $_.name -like 'tool:*' -and $_.status -ne 'done' }) | Should -BeNullOrEmpty
    }
    It 'unpacks the zip tools and provisions the appinstaller tool, each by its own installer' {
        Test-Path -LiteralPath (Get-StandInPath 'C:\bin\sysinternals\.wcigen-tool.json') | Should -BeTrue
        Test-Path -LiteralPath (Get-StandInPath 'C:\bin\windbg') | Should -BeFalse
        $machine.Appx.Keys | Should -Be @('Microsoft.WinDbg')
    }
}
