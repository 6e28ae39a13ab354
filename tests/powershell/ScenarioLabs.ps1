# The labs every scenario runs for: each example and each extra lab (tests/fixtures/extra-labs),
# as Pester -ForEach data. Hostile labs are read by LabValues/Syntax tests only: their downloads
# point at hosts the fixture server does not stand in for.
$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
$labs = @()
foreach ($folder in @('examples', 'tests/fixtures/extra-labs')) {
    foreach ($file in Get-ChildItem -Path (Join-Path $root $folder) -Filter '*.yaml' | Sort-Object Name) {
        $text = Get-Content -Raw -LiteralPath $file.FullName
        $labs += @{
            Name     = "$folder/$($file.Name)"
            Path     = $file.FullName
            # What the lab asks for, read from the rendered script's plan in the tests; these
            # two only choose which scenarios apply.
            Docker   = -not ($text -match '(?ms)^\s*docker:\s*\n\s*enabled:\s*false')
            Features = -not ($text -match '(?m)^\s*windowsFeatures:\s*\[\s*\]')
        }
    }
}
$labs
