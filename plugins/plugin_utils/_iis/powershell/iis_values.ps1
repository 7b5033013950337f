# webfarm.winauth remote script part: the IIS editor's values, as the contract carries them and as
# Microsoft.Web.Administration takes them (the twin of plugin_utils/_iis/values.py). The controller sends it
# between prelude.ps1 and iis_config.ps1; it only defines functions (Stop-Winauth is iis_config.ps1's).
# Windows PowerShell 5.1.

# A value as the contract carries it: enum and flags by name, time spans in .NET's constant format.
function ConvertTo-JsonValue($Schema, $Value) {
    if ($null -eq $Value) { return $null }
    switch ($Schema.Type) {
        'bool' { return [bool]$Value }
        'enum' {
            if ($Value -is [string]) { return $Value }
            foreach ($ev in $Schema.GetEnumValues()) { if ($ev.Value -eq [long]$Value) { return $ev.Name } }
            return [string]$Value
        }
        'flags' {
            if ($Value -is [string]) { return $Value }
            $n = [long]$Value
            $names = New-Object System.Collections.ArrayList
            $zero = ''
            foreach ($ev in $Schema.GetEnumValues()) {
                if ($ev.Value -eq 0) { $zero = $ev.Name }
                elseif (($n -band $ev.Value) -eq $ev.Value) { [void]$names.Add($ev.Name) }
            }
            if ($names.Count -eq 0) { return $zero }
            return ($names -join ', ')
        }
        'timeSpan' { return ([TimeSpan]$Value).ToString() }
        { $_ -in 'uint', 'int', 'int64' } { return [long]$Value }
        default { return [string]$Value }
    }
}

# A requested value converted to what Microsoft.Web.Administration takes (enums and flags by name, as Microsoft's
# samples set them; numbers, booleans and time spans typed); invalid_value when it cannot be.
function ConvertTo-IisValue($Schema, $Value, [hashtable]$Where) {
    $name = $Schema.Name
    $bad = if ($Schema.IsEncrypted) { "$name has an invalid value" } else { "$name cannot be '$Value'" }
    if ($null -eq $Value) { Stop-Winauth 'invalid_value' "$name needs a value" $Where }
    try {
        switch ($Schema.Type) {
            'bool' {
                if ($Value -is [bool]) { return $Value }
                if ("$Value" -in 'true', 'false') { return ("$Value" -eq 'true') }
                throw "$name must be true or false"
            }
            'uint' { return [uint32]$Value }
            'int' { return [int32]$Value }
            'int64' { return [int64]$Value }
            'enum' {
                foreach ($ev in $Schema.GetEnumValues()) {
                    if ($ev.Name -eq "$Value" -or "$($ev.Value)" -eq "$Value") { return $ev.Name }
                }
                throw "$name must be one of $(($Schema.GetEnumValues() | ForEach-Object { $_.Name }) -join ', ')"
            }
            'flags' {
                $n = 0
                if ("$Value" -match '^\d+$') { $n = [long]$Value } else {
                    foreach ($part in @("$Value" -split ',')) {
                        $part = $part.Trim()
                        if ($part -eq '') { continue }
                        $ev = $Schema.GetEnumValues() | Where-Object { $_.Name -eq $part } | Select-Object -First 1
                        if ($null -eq $ev) { throw "$name has no flag '$part'" }
                        $n = $n -bor [long]$ev.Value
                    }
                }
                return (ConvertTo-JsonValue $Schema $n)
            }
            'timeSpan' { return [TimeSpan]::Parse("$Value", [Globalization.CultureInfo]::InvariantCulture) }
            default { return [string]$Value }
        }
    } catch {
        $detail = if ($Schema.IsEncrypted) { $bad } else { "$bad ($($_.Exception.GetBaseException().Message))" }
        Stop-Winauth 'invalid_value' $detail $Where
    }
}

function Test-Same($Schema, $Left, $Right) {
    if ($Left -is [string] -and $Right -is [string] -and -not $Schema.IsCaseSensitive) { return $Left -eq $Right }
    if ($Left -is [string] -and $Right -is [string]) { return $Left -ceq $Right }
    return $Left -eq $Right
}
