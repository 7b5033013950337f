# webfarm.winauth remote prelude: the helpers every remote script of the collection uses, defined once.
# The controller sends it in front of each script (plugin_utils/_iis/runner.py); it only defines functions.
# Windows PowerShell 5.1.

# A property of a parsed JSON object, or $Default when the object or the property is missing.
function Get-Prop($Object, [string]$Name, $Default) {
    if ($null -eq $Object) { return $Default }
    $p = $Object.PSObject.Properties[$Name]
    if ($null -eq $p) { return $Default }
    return $p.Value
}

# One line of JSON, all ASCII (non-ASCII characters as \uXXXX), so that no console code page can mangle it.
function ConvertTo-AsciiJson($Object) {
    $json = ConvertTo-Json -InputObject $Object -Depth 64 -Compress
    return [regex]::Replace($json, '[^\x00-\x7F]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
}
