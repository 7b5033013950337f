# webfarm.winauth remote script: the effective holders of user rights on this host, as SIDs and names.
# Contract: docs/remote-contract.md in the collection. The controller sends prelude.ps1 (Get-Prop,
# ConvertTo-AsciiJson) in front of it. Windows PowerShell 5.1; the request comes on $input.
# Request on stdin: {"rights": ["SeBatchLogonRight", ...]}. Uses secedit /export /mergedpolicy (local and domain
# policy as applied), so it needs an administrator.
$WinauthScript = @{ Id = 'user_rights'; Version = '1.1.0' }
$ErrorActionPreference = 'Stop'

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

$stdin = @($input) -join "`n"
$response = [ordered]@{ ok = $true; script = $WinauthScript.Id; version = $WinauthScript.Version }
$rc = 0
$export = Join-Path ([IO.Path]::GetTempPath()) ("winauth-rights-{0}.inf" -f [guid]::NewGuid().ToString('N'))
try {
    $request = if ($stdin.Trim() -eq '') { $null } else { ConvertFrom-Json -InputObject $stdin }
    $rights = @(Get-Prop $request 'rights' @())
    $bad = @($rights | Where-Object { "$_" -notmatch '^Se[A-Za-z]+(Right|Privilege)$' })
    if ($rights.Count -eq 0 -or $bad.Count -gt 0) {
        $response.ok = $false
        $response.error = [ordered]@{ code = 'invalid_request'; message = 'rights must list user right names such as SeBatchLogonRight' }
        $rc = 1
    } else {
        $exe = Join-Path $env:windir 'System32\secedit.exe'
        $lines = @(& $exe /export /mergedpolicy /areas USER_RIGHTS /cfg $export /quiet 2>&1 | ForEach-Object { "$_" })
        if ($LASTEXITCODE -ne 0 -or -not (Test-Path -LiteralPath $export)) {
            $response.ok = $false
            $response.error = [ordered]@{ code = 'secedit_failed'; message = "secedit /export failed (rc $LASTEXITCODE): $($lines -join ' ')" }
            $rc = 1
        } else {
            $assigned = @{}
            $inRights = $false
            foreach ($line in (Get-Content -LiteralPath $export -Encoding Unicode)) {
                $line = $line.Trim()
                if ($line.StartsWith('[')) { $inRights = ($line -eq '[Privilege Rights]'); continue }
                if ($inRights -and $line -match '^(\w+)\s*=\s*(.*)$') { $assigned[$Matches[1]] = $Matches[2] }
            }
            $result = [ordered]@{}
            foreach ($right in $rights) {
                $holders = New-Object System.Collections.ArrayList
                if ($assigned.ContainsKey("$right")) {
                    foreach ($entry in ($assigned["$right"] -split ',')) {
                        if ($entry.Trim() -ne '') { [void]$holders.Add((Resolve-Holder $entry.Trim())) }
                    }
                }
                $result["$right"] = $holders
            }
            $response.result = [ordered]@{ rights = $result; source = 'secedit /export /mergedpolicy' }
        }
    }
} catch {
    $rc = 1
    $response.ok = $false
    $response.error = [ordered]@{ code = 'internal_error'; message = $_.Exception.GetBaseException().Message }
} finally {
    if (Test-Path -LiteralPath $export) { Remove-Item -LiteralPath $export -Force }
}
Write-Output (ConvertTo-AsciiJson $response)
exit $rc
