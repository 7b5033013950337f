# webfarm.winauth script part (function definitions only): who effectively holds user rights on this host.
# Sent by the controller in front of user_rights.ps1, gpupdate.ps1 and iis_config.ps1 (docs/remote-contract.md), so
# one call can read IIS configuration and the rights a pool identity needs. Needs an administrator (secedit).

# Whether a request's rights are all user right names (SeBatchLogonRight, SeImpersonatePrivilege, ...).
function Test-RightNames($Rights) {
    $bad = @($Rights | Where-Object { "$_" -notmatch '^Se[A-Za-z]+(Right|Privilege)$' })
    return ($Rights.Count -gt 0 -and $bad.Count -eq 0)
}

# One entry of a [Privilege Rights] line: "*S-1-5-32-544" (a SID) or an account name; both resolved when possible.
function Resolve-Holder([string]$Entry) {
    $sid = $null
    $name = $null
    if ($Entry.StartsWith('*')) {
        $sid = $Entry.Substring(1)
        try { $name = (New-Object System.Security.Principal.SecurityIdentifier $sid).Translate([System.Security.Principal.NTAccount]).Value } catch { }
    } else {
        $name = $Entry
        try { $sid = (New-Object System.Security.Principal.NTAccount $Entry).Translate([System.Security.Principal.SecurityIdentifier]).Value } catch { }
    }
    return [ordered]@{ sid = $sid; name = $name }
}

# The holders of each right as secedit /export /mergedpolicy shows them (local and domain policy as applied):
# @{ ok = $true; rights = @{ right = @({sid, name}, ...) } }, or @{ ok = $false; message } when secedit fails.
function Get-EffectiveRights($Rights) {
    $export = Join-Path ([IO.Path]::GetTempPath()) ("winauth-rights-{0}.inf" -f [guid]::NewGuid().ToString('N'))
    try {
        $exe = Join-Path $env:windir 'System32\secedit.exe'
        $lines = @(& $exe /export /mergedpolicy /areas USER_RIGHTS /cfg $export /quiet 2>&1 | ForEach-Object { "$_" })
        if ($LASTEXITCODE -ne 0 -or -not (Test-Path -LiteralPath $export)) {
            return [ordered]@{ ok = $false; message = "secedit /export failed (rc $LASTEXITCODE): $($lines -join ' ')" }
        }
        $assigned = @{}
        $inRights = $false
        foreach ($line in (Get-Content -LiteralPath $export -Encoding Unicode)) {
            $line = $line.Trim()
            if ($line.StartsWith('[')) { $inRights = ($line -eq '[Privilege Rights]'); continue }
            if ($inRights -and $line -match '^(\w+)\s*=\s*(.*)$') { $assigned[$Matches[1]] = $Matches[2] }
        }
        $result = [ordered]@{}
        foreach ($right in $Rights) {
            $holders = New-Object System.Collections.ArrayList
            if ($assigned.ContainsKey("$right")) {
                foreach ($entry in ($assigned["$right"] -split ',')) {
                    if ($entry.Trim() -ne '') { [void]$holders.Add((Resolve-Holder $entry.Trim())) }
                }
            }
            $result["$right"] = $holders
        }
        return [ordered]@{ ok = $true; rights = $result }
    } finally {
        if (Test-Path -LiteralPath $export) { Remove-Item -LiteralPath $export -Force }
    }
}
